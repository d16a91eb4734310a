using System.Text.Json;

namespace Rnn.Fast.IO;

/// <summary>
/// Typed access to the fields of an untrusted JSON model file: every wrong kind, missing field or out-of-range
/// number becomes a <see cref="ModelFormatException"/> naming the field, never an InvalidOperationException
/// from <see cref="JsonElement"/>.
/// </summary>
internal static class JsonFields
{
    // Model JSON nests at most a few levels (a state dict's matrices are 2-3 deep); the cap stops stack-depth tricks.
    private static readonly JsonDocumentOptions s_options = new() { MaxDepth = 16 };

    public static JsonDocument Parse(ReadOnlyMemory<byte> content, string file)
    {
        // Editors on Windows save JSON with a UTF-8 byte order mark; the reader would take it for a bad first token.
        if (content.Span.StartsWith("\uFEFF"u8))
        {
            content = content[3..];
        }
        // JsonDocument checks structure on parse but UTF-8 only when a string is read (InvalidOperationException then).
        if (!System.Text.Unicode.Utf8.IsValid(content.Span))
        {
            throw new ModelFormatException(file, null, "The file is not valid UTF-8 text.");
        }
        try
        {
            JsonDocument document = JsonDocument.Parse(content, s_options);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                JsonValueKind kind = document.RootElement.ValueKind;
                document.Dispose();
                throw new ModelFormatException(file, null, $"The file must hold a JSON object, not {kind}.");
            }
            return document;
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(file, null, $"Not valid JSON: {e.Message}", e);
        }
    }

    public static JsonElement Object(JsonElement parent, string name, string file)
    {
        JsonElement value = Required(parent, name, file);
        return value.ValueKind == JsonValueKind.Object ? value : throw WrongKind(file, name, "an object", value);
    }

    public static JsonElement Array(JsonElement parent, string name, string file)
    {
        JsonElement value = Required(parent, name, file);
        return value.ValueKind == JsonValueKind.Array ? value : throw WrongKind(file, name, "an array", value);
    }

    public static string String(JsonElement parent, string name, string file)
    {
        JsonElement value = Required(parent, name, file);
        return value.ValueKind == JsonValueKind.String ? value.GetString()! : throw WrongKind(file, name, "a string", value);
    }

    /// <summary>An integer in [<paramref name="min"/>, <paramref name="max"/>]; a missing field gives null.</summary>
    public static int? OptionalInt(JsonElement parent, string name, string file, int min, int max)
    {
        if (!parent.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out long number) || number < min || number > max)
        {
            throw new ModelFormatException(file, name, $"Must be an integer from {min} to {max}, not {Describe(value)}.");
        }
        return (int)number;
    }

    public static int Int(JsonElement parent, string name, string file, int min, int max) =>
        OptionalInt(parent, name, file, min, max) ?? throw new ModelFormatException(file, name, "Missing.");

    public static bool? OptionalBool(JsonElement parent, string name, string file)
    {
        if (!parent.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            // Training scripts sometimes write flags as 0/1.
            JsonValueKind.Number when value.TryGetInt32(out int flag) && flag is 0 or 1 => flag == 1,
            _ => throw WrongKind(file, name, "a boolean", value),
        };
    }

    /// <summary>A JSON number as a finite float32 (doubles are rounded; values beyond float range are errors).</summary>
    /// <summary>An optional number that must be finite and above zero (a sample rate); null when absent.</summary>
    public static double? OptionalPositive(JsonElement parent, string name, string file)
    {
        if (!parent.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out double number))
        {
            throw WrongKind(file, name, "a number", value);
        }
        if (!double.IsFinite(number) || number <= 0)
        {
            throw new ModelFormatException(file, name, $"{number} is not a positive number.");
        }
        return number;
    }

    public static float Float(JsonElement value, string file, string name)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out double number))
        {
            throw WrongKind(file, name, "a number", value);
        }
        float single = (float)number;
        if (!float.IsFinite(single))
        {
            throw new ModelFormatException(file, name, $"{number} is not a finite float32.");
        }
        return single;
    }

    private static JsonElement Required(JsonElement parent, string name, string file) =>
        parent.TryGetProperty(name, out JsonElement value) ? value : throw new ModelFormatException(file, name, "Missing.");

    private static ModelFormatException WrongKind(string file, string name, string expected, JsonElement value) =>
        new(file, name, $"Must be {expected}, not {Describe(value)}.");

    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Number => value.GetRawText().Length <= 32 ? value.GetRawText() : "a number out of range",
        JsonValueKind.String => "a string",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };
}
