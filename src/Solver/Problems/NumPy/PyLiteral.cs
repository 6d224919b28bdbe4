using System.Globalization;
using System.Text;

namespace Flatness.Solver.Problems.NumPy;

/// <summary>A Python tuple literal's items.</summary>
internal sealed record PyTuple(IReadOnlyList<object?> Items);

/// <summary>A Python list literal's items.</summary>
internal sealed record PyList(IReadOnlyList<object?> Items);

/// <summary>
/// Parses the Python literal subset that .npy headers use: dicts with string keys, strings, integers, True,
/// False, None, tuples and lists. Integers are long; anything else is a <see cref="FormatException"/>.
/// </summary>
internal sealed class PyLiteral
{
    private readonly string _text;
    private int _pos;
    private int _depth;

    private PyLiteral(string text) => _text = text;

    /// <summary>Parses one literal that spans the whole text (surrounding whitespace allowed).</summary>
    public static object? Parse(string text)
    {
        var p = new PyLiteral(text);
        object? value = p.Value();
        p.SkipSpace();
        if (p._pos != text.Length) throw p.Error("unexpected text after the literal");
        return value;
    }

    private FormatException Error(string what) =>
        new($"{what} at character {_pos}");

    private void SkipSpace()
    {
        while (_pos < _text.Length && _text[_pos] is ' ' or '\t' or '\n' or '\r') _pos++;
    }

    private char Peek()
    {
        SkipSpace();
        if (_pos >= _text.Length) throw Error("unexpected end of header");
        return _text[_pos];
    }

    private void Expect(char c)
    {
        if (Peek() != c) throw Error($"expected '{c}'");
        _pos++;
    }

    private object? Value()
    {
        if (++_depth > 32) throw Error("literal nested too deeply");
        try
        {
            char c = Peek();
            return c switch
            {
                '{' => Dict(),
                '(' => TupleOrParenthesised(),
                '[' => new PyList(Sequence('[', ']', out _)),
                '\'' or '"' => String(),
                _ when c == '-' || c == '+' || char.IsAsciiDigit(c) => Integer(),
                _ when char.IsAsciiLetter(c) => Name(),
                _ => throw Error($"unexpected character '{c}'"),
            };
        }
        finally
        {
            _depth--;
        }
    }

    private Dictionary<string, object?> Dict()
    {
        Expect('{');
        var d = new Dictionary<string, object?>(StringComparer.Ordinal);
        while (Peek() != '}')
        {
            if (Value() is not string key) throw Error("dictionary key is not a string");
            Expect(':');
            if (!d.TryAdd(key, Value())) throw Error($"key '{key}' repeated");
            if (Peek() == ',') _pos++;
            else if (Peek() != '}') throw Error("expected ',' or '}'");
        }
        _pos++;
        return d;
    }

    private List<object?> Sequence(char open, char close, out bool sawComma)
    {
        Expect(open);
        var items = new List<object?>();
        sawComma = false;
        while (Peek() != close)
        {
            items.Add(Value());
            if (Peek() == ',') { _pos++; sawComma = true; }
            else if (Peek() != close) throw Error($"expected ',' or '{close}'");
        }
        _pos++;
        return items;
    }

    private object? TupleOrParenthesised()
    {
        var items = Sequence('(', ')', out bool sawComma);
        // (x) is x in Python; (x,) and () are tuples.
        return items.Count == 1 && !sawComma ? items[0] : new PyTuple(items);
    }

    private string String()
    {
        char quote = _text[_pos++];
        var sb = new StringBuilder();
        while (true)
        {
            if (_pos >= _text.Length) throw Error("unterminated string");
            char c = _text[_pos++];
            if (c == quote) return sb.ToString();
            if (c == '\n') throw Error("newline inside a string");
            if (c == '\\')
            {
                if (_pos >= _text.Length) throw Error("unterminated string");
                char e = _text[_pos++];
                sb.Append(e switch
                {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    '0' => '\0',
                    '\\' or '\'' or '"' => e,
                    _ => throw Error($"unsupported escape '\\{e}'"),
                });
            }
            else sb.Append(c);
        }
    }

    private long Integer()
    {
        int start = _pos;
        if (_text[_pos] is '-' or '+') _pos++;
        int digits = _pos;
        while (_pos < _text.Length && char.IsAsciiDigit(_text[_pos])) _pos++;
        if (_pos == digits) throw Error("expected a digit");
        string token = _text[start.._pos];
        // Python 2 wrote long integers with an L suffix.
        if (_pos < _text.Length && _text[_pos] is 'L' or 'l') _pos++;
        if (_pos < _text.Length && (char.IsAsciiLetterOrDigit(_text[_pos]) || _text[_pos] is '.' or '_'))
            throw Error($"not an integer: '{token}{_text[_pos]}'");
        if (!long.TryParse(token, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v))
            throw Error($"integer {token} out of range");
        return v;
    }

    private object? Name()
    {
        int start = _pos;
        while (_pos < _text.Length && (char.IsAsciiLetterOrDigit(_text[_pos]) || _text[_pos] == '_')) _pos++;
        string name = _text[start.._pos];
        return name switch
        {
            "True" => true,
            "False" => false,
            "None" => null,
            _ => throw new FormatException($"unexpected name '{name}' at character {start}"),
        };
    }
}
