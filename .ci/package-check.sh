#!/usr/bin/env bash
# Packs the libraries and the tool, then uses them as a stranger would: a throwaway console app that references the
# packed Flatness.Solver from a local folder feed (it runs examples/Solve/Program.cs), and the tool installed from that
# feed into a temporary tool path. A broken package fails here.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fresh="$work/packages" # the app and the tool restore into a fresh cache: never a stale package of the same version
export DOTNET_ROOT=${DOTNET_ROOT:-$(dirname "$(readlink -f "$(command -v dotnet)")")}
version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props | head -1)

dotnet pack Kernels.sln -c Release -o "$work/feed" --nologo -v quiet
echo "packages:"; ls -l "$work/feed" | awk 'NR > 1 { printf "  %-40s %10d bytes\n", $9, $5 }'
# The libraries carry their XML documentation (IntelliSense for embedders).
for lib in Flatness.Kernels Flatness.Solver Flatness.Experiments; do
  # Entry names are stored uncompressed in a zip's headers.
  if ! LC_ALL=C grep -aqF "lib/net10.0/$lib.xml" "$work/feed/$lib.$version.nupkg"; then
    echo "package check: $lib.$version.nupkg has no lib/net10.0/$lib.xml" >&2; exit 1
  fi
done

mkdir -p "$work/app"
cat > "$work/app/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="flatness-local" value="$work/feed" />
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
(cd "$work/app" && NUGET_PACKAGES="$fresh" dotnet run -c Release --nologo)
echo "minimal app output folder: $(du -sh "$work/app/bin/Release/net10.0" | cut -f1)"

NUGET_PACKAGES="$fresh" dotnet tool install Flatness.Tool --version "$version" --tool-path "$work/tools" --add-source "$work/feed" >/dev/null
"$work/tools/flatness" --version
out=$("$work/tools/flatness" eval --problem "$root/examples/gaussian-small/problem.npz" --layers "$root/examples/gaussian-small/layers.npz" --json)
case "$out" in *'"hessian_trace"'*) echo "package check: ok" ;; *) echo "package check: flatness eval printed no hessian_trace" >&2; exit 1 ;; esac
