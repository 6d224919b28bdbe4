#!/usr/bin/env bash
# Packs the libraries and the tool, then uses them as a stranger would: a throwaway console app that references the
# packed Flatness.Solver from a local folder feed (it runs examples/Solve/Program.cs), and the tool installed from that
# feed into a temporary tool path. A broken package fails here.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export NUGET_PACKAGES="$work/packages" # a fresh cache: never a stale package of the same version
version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props | head -1)

dotnet pack Kernels.sln -c Release -o "$work/feed" --nologo -v quiet
echo "packages:"; ls -l "$work/feed" | awk 'NR > 1 { printf "  %-40s %10d bytes\n", $9, $5 }'

mkdir -p "$work/app"
cat > "$work/app/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="local" value="$work/feed" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
  </packageSources>
</configuration>
XML
cat > "$work/app/App.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <ImplicitUsings>enable</ImplicitUsings>
    <Nullable>enable</Nullable>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="Flatness.Solver" Version="$version" />
  </ItemGroup>
</Project>
XML
cp examples/Solve/Program.cs "$work/app/Program.cs"
(cd "$work/app" && dotnet run -c Release --nologo)
echo "minimal app output folder: $(du -sh "$work/app/bin/Release/net10.0" | cut -f1)"

dotnet tool install Flatness.Tool --version "$version" --tool-path "$work/tools" --add-source "$work/feed" >/dev/null
"$work/tools/flatness" --version
"$work/tools/flatness" eval --problem "$root/examples/gaussian-small/problem.npz" --layers "$root/examples/gaussian-small/layers.npz" --json \
  | grep -q '"hessian_trace"'
echo "package check: ok"
