using System.Text;

namespace SerMtl.Data.Corpora;

/// <summary>One record of a delimited text file and the (1-based) line it starts on.</summary>
internal readonly record struct DelimitedRecord(int Line, IReadOnlyList<string> Fields);

/// <summary>
/// Splits CSV/TSV text into records: RFC 4180 quoting (a field that starts with <c>"</c> runs to the next lone
/// <c>"</c>, <c>""</c> is a literal quote, delimiters and line breaks inside are kept), LF, CRLF or CR line
/// ends, blank lines skipped. Unquoted fields are taken verbatim, quotes inside them included.
/// </summary>
internal static class DelimitedTextReader
{
    public static IEnumerable<DelimitedRecord> Read(string text, char delimiter, string name)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        var line = 1;
        var recordLine = 1;
        var i = 0;
        var recordHasContent = false;
        while (i <= text.Length)
        {
            if (i == text.Length || text[i] is '\n' or '\r')
            {
                // End of record (or of the text).
                fields.Add(field.ToString());
                field.Clear();
                if (recordHasContent || fields.Count > 1 || fields[0].Length > 0)
                    yield return new DelimitedRecord(recordLine, fields.ToArray());
                fields.Clear();
                recordHasContent = false;
                if (i == text.Length) break;
                if (text[i] == '\r' && i + 1 < text.Length && text[i + 1] == '\n') i++;
                i++;
                line++;
                recordLine = line;
                continue;
            }
            if (text[i] == '"' && field.Length == 0)
            {
                // Quoted field.
                recordHasContent = true;
                var openLine = line;
                i++;
                while (true)
                {
                    if (i >= text.Length)
                        throw new InvalidDataException($"{name}: line {openLine}: quoted field is never closed");
                    var c = text[i];
                    if (c == '"')
                    {
                        if (i + 1 < text.Length && text[i + 1] == '"')
                        {
                            field.Append('"');
                            i += 2;
                            continue;
                        }
                        i++;
                        break;
                    }
                    if (c == '\n' || (c == '\r' && !(i + 1 < text.Length && text[i + 1] == '\n'))) line++;
                    field.Append(c);
                    i++;
                }
                if (i < text.Length && text[i] != delimiter && text[i] is not ('\n' or '\r'))
                    throw new InvalidDataException($"{name}: line {line}: unexpected '{text[i]}' after a closing quote (expected the delimiter or the end of the line)");
                continue;
            }
            if (text[i] == delimiter)
            {
                fields.Add(field.ToString());
                field.Clear();
                recordHasContent = true;
                i++;
                continue;
            }
            field.Append(text[i]);
            i++;
        }
    }
}
