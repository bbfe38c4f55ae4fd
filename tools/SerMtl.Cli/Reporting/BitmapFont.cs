namespace SerMtl.Cli.Reporting;

/// <summary>
/// The report's built-in pixel font: printable ASCII (32–126) on a 5×9 grid — 7 rows from cap height down to the
/// baseline, then 2 rows of descender. Glyphs are proportional (trimmed to their inked columns, one column of
/// spacing) except digits, which keep the full 5 columns so numbers line up in tables and ticks. Drawn at an
/// integer scale; from scale 2 up, diagonal steps are softened with partial-coverage fillets so text does not look
/// like stacked squares. Characters outside the table draw as '?'.
/// </summary>
internal static class BitmapFont
{
    /// <summary>Rows from the top of a capital to the baseline, at scale 1.</summary>
    public const int CapHeight = 7;

    /// <summary>Rows below the baseline (g, j, p, q, y, comma), at scale 1.</summary>
    public const int Descent = 2;

    private const int GridWidth = 5;
    private const int GridHeight = CapHeight + Descent;
    private const int SpaceAdvance = 3;

    /// <summary>Width in pixels of <paramref name="text"/> at <paramref name="scale"/> (no trailing spacing).</summary>
    public static int Measure(string text, int scale = 1, bool bold = false)
    {
        if (text.Length == 0) return 0;
        var width = 0;
        foreach (var ch in text) width += Lookup(ch).Advance + (bold ? 1 : 0);
        return (width - 1) * scale;
    }

    /// <summary>
    /// <paramref name="text"/> cut to at most <paramref name="maxChars"/> characters (ending in "..") so a runaway
    /// label cannot stretch a chart.
    /// </summary>
    public static string Shorten(string text, int maxChars) =>
        text.Length <= maxChars ? text : string.Concat(text.AsSpan(0, Math.Max(maxChars - 2, 1)), "..");

    /// <summary>Height in pixels of a line including descenders, at <paramref name="scale"/>.</summary>
    public static int LineHeight(int scale = 1) => GridHeight * scale;

    /// <summary>Draws text; see <see cref="Canvas.DrawText"/> and <see cref="Canvas.DrawTextUp"/>. Returns the advance.</summary>
    /// <remarks>Bold doubles each stroke one font pixel to the right and widens the advance to match.</remarks>
    public static int Draw(Canvas canvas, string text, int x, int y, Rgba color, int scale, bool rotated, bool bold = false)
    {
        if (scale < 1) throw new ArgumentOutOfRangeException(nameof(scale), "font scale must be >= 1");
        var pen = 0; // upright frame, in font pixels
        foreach (var ch in text)
        {
            var glyph = Lookup(ch);
            DrawGlyph(canvas, bold ? glyph.Emboldened : glyph, pen, x, y, color, scale, rotated);
            pen += glyph.Advance + (bold ? 1 : 0);
        }
        return Math.Max(pen - 1, 0) * scale;
    }

    private static void DrawGlyph(Canvas canvas, Glyph g, int pen, int x, int y, Rgba color, int scale, bool rotated)
    {
        // (u, v): device pixels in the upright text frame, (0, 0) = top-left of the first glyph's cap box.
        void Plot(int u, int v, double coverage)
        {
            if (rotated) canvas.Blend(x + v, y - 1 - u, color, coverage);
            else canvas.Blend(x + u, y + v, color, coverage);
        }

        for (var row = 0; row < GridHeight; row++)
        {
            for (var col = 0; col < g.Width; col++)
            {
                var ox = (pen + col) * scale;
                var oy = row * scale;
                if (g.On(col, row))
                {
                    for (var j = 0; j < scale; j++)
                        for (var i = 0; i < scale; i++)
                            Plot(ox + i, oy + j, 1);
                    continue;
                }
                if (scale < 2) continue;
                // An empty cell between two inked orthogonal neighbours whose shared diagonal is empty sits on a
                // staircase: fill the corner facing them with a small triangle so the diagonal reads as one stroke.
                foreach (var (dx, dy) in Corners)
                {
                    if (!g.On(col + dx, row) || !g.On(col, row + dy) || g.On(col + dx, row + dy)) continue;
                    for (var j = 0; j < scale; j++)
                    {
                        for (var i = 0; i < scale; i++)
                        {
                            // Distance of the sub-pixel from the corner, in sub-pixels, measured along both axes.
                            var di = dx < 0 ? i : scale - 1 - i;
                            var dj = dy < 0 ? j : scale - 1 - j;
                            var coverage = TriangleCoverage(di, dj, scale * 0.6);
                            if (coverage > 0) Plot(ox + i, oy + j, coverage);
                        }
                    }
                }
            }
        }
    }

    private static readonly (int Dx, int Dy)[] Corners = [(-1, -1), (1, -1), (-1, 1), (1, 1)];

    /// <summary>Fraction of the unit square at (i, j) lying under the line u + v = legs (4×4 supersampling).</summary>
    private static double TriangleCoverage(int i, int j, double legs)
    {
        var inside = 0;
        for (var b = 0; b < 4; b++)
            for (var a = 0; a < 4; a++)
                if (i + (a + 0.5) / 4 + j + (b + 0.5) / 4 < legs) inside++;
        return inside / 16.0;
    }

    private static Glyph Lookup(char ch) =>
        ch is >= ' ' and <= '~' ? Glyphs[ch - ' '] : Glyphs['?' - ' '];

    /// <summary>One glyph, trimmed to its inked columns: bit (Width-1-c) of Rows[r] is column c.</summary>
    private sealed class Glyph(int[] rows, int width, int advance)
    {
        private Glyph? _bold;

        public int Width { get; } = width;
        public int Advance { get; } = advance;

        /// <summary>The glyph OR-ed with itself shifted one column right (one column wider).</summary>
        public Glyph Emboldened => _bold ??= new Glyph(rows.Select(r => r | (r << 1)).ToArray(), Width == 0 ? 0 : Width + 1, Advance + 1);

        public bool On(int col, int row) =>
            col >= 0 && col < Width && row >= 0 && row < GridHeight && ((rows[row] >> (Width - 1 - col)) & 1) != 0;
    }

    private static Glyph[] BuildGlyphs()
    {
        var glyphs = new Glyph[95];
        foreach (var (ch, art) in Art)
        {
            var rows = art.Split('|');
            if (rows.Length is < CapHeight or > GridHeight || rows.Any(r => r.Length != GridWidth))
                throw new InvalidOperationException($"font glyph '{ch}' is not 7-9 rows of {GridWidth} columns");
            int first = GridWidth, last = -1;
            foreach (var r in rows)
            {
                for (var c = 0; c < GridWidth; c++)
                {
                    if (r[c] != '#') continue;
                    first = Math.Min(first, c);
                    last = Math.Max(last, c);
                }
            }
            if (char.IsAsciiDigit(ch) || last < 0)
            {
                first = 0;
                last = GridWidth - 1;
            }
            var width = last - first + 1;
            var bits = new int[GridHeight];
            for (var r = 0; r < rows.Length; r++)
                for (var c = first; c <= last; c++)
                    if (rows[r][c] == '#') bits[r] |= 1 << (last - c);
            var advance = ch == ' ' ? SpaceAdvance + 1 : width + 1;
            glyphs[ch - ' '] = new Glyph(bits, ch == ' ' ? 0 : width, advance);
        }
        for (var i = 0; i < glyphs.Length; i++)
            if (glyphs[i] is null) throw new InvalidOperationException($"font has no glyph for '{(char)(i + ' ')}'");
        return glyphs;
    }

    // Rows top to bottom; '#' is ink. Rows 0-6 reach from cap height to the baseline, 7-8 are descenders.
    private static readonly (char Ch, string Art)[] Art =
    [
        (' ', ".....|.....|.....|.....|.....|.....|....."),
        ('!', "..#..|..#..|..#..|..#..|..#..|.....|..#.."),
        ('"', ".#.#.|.#.#.|.....|.....|.....|.....|....."),
        ('#', ".#.#.|.#.#.|#####|.#.#.|#####|.#.#.|.#.#."),
        ('$', "..#..|.####|#.#..|.###.|..#.#|####.|..#.."),
        ('%', "##...|##..#|...#.|..#..|.#...|#..##|...##"),
        ('&', ".##..|#..#.|#.#..|.#...|#.#.#|#..#.|.##.#"),
        ('\'', "..#..|..#..|.....|.....|.....|.....|....."),
        ('(', "...#.|..#..|.#...|.#...|.#...|..#..|...#."),
        (')', ".#...|..#..|...#.|...#.|...#.|..#..|.#..."),
        ('*', ".....|..#..|#.#.#|.###.|#.#.#|..#..|....."),
        ('+', ".....|..#..|..#..|#####|..#..|..#..|....."),
        (',', ".....|.....|.....|.....|.....|.....|..#..|..#..|.#..."),
        ('-', ".....|.....|.....|.###.|.....|.....|....."),
        ('.', ".....|.....|.....|.....|.....|.....|..#.."),
        ('/', "....#|....#|...#.|..#..|.#...|#....|#...."),
        ('0', ".###.|#...#|#..##|#.#.#|##..#|#...#|.###."),
        ('1', "..#..|.##..|..#..|..#..|..#..|..#..|.###."),
        ('2', ".###.|#...#|....#|...#.|..#..|.#...|#####"),
        ('3', ".###.|#...#|....#|..##.|....#|#...#|.###."),
        ('4', "...#.|..##.|.#.#.|#..#.|#####|...#.|...#."),
        ('5', "#####|#....|####.|....#|....#|#...#|.###."),
        ('6', "..##.|.#...|#....|####.|#...#|#...#|.###."),
        ('7', "#####|....#|...#.|..#..|.#...|.#...|.#..."),
        ('8', ".###.|#...#|#...#|.###.|#...#|#...#|.###."),
        ('9', ".###.|#...#|#...#|.####|....#|...#.|.##.."),
        (':', ".....|.....|..#..|.....|.....|..#..|....."),
        (';', ".....|.....|..#..|.....|.....|..#..|..#..|.#..."),
        ('<', "...#.|..#..|.#...|#....|.#...|..#..|...#."),
        ('=', ".....|.....|#####|.....|#####|.....|....."),
        ('>', ".#...|..#..|...#.|....#|...#.|..#..|.#..."),
        ('?', ".###.|#...#|....#|...#.|..#..|.....|..#.."),
        ('@', ".###.|#...#|#.###|#.#.#|#.###|#....|.###."),
        ('A', ".###.|#...#|#...#|#####|#...#|#...#|#...#"),
        ('B', "####.|#...#|#...#|####.|#...#|#...#|####."),
        ('C', ".###.|#...#|#....|#....|#....|#...#|.###."),
        ('D', "####.|#...#|#...#|#...#|#...#|#...#|####."),
        ('E', "#####|#....|#....|####.|#....|#....|#####"),
        ('F', "#####|#....|#....|####.|#....|#....|#...."),
        ('G', ".###.|#...#|#....|#.###|#...#|#...#|.####"),
        ('H', "#...#|#...#|#...#|#####|#...#|#...#|#...#"),
        ('I', ".###.|..#..|..#..|..#..|..#..|..#..|.###."),
        ('J', "..###|...#.|...#.|...#.|...#.|#..#.|.##.."),
        ('K', "#...#|#..#.|#.#..|##...|#.#..|#..#.|#...#"),
        ('L', "#....|#....|#....|#....|#....|#....|#####"),
        ('M', "#...#|##.##|#.#.#|#.#.#|#...#|#...#|#...#"),
        ('N', "#...#|#...#|##..#|#.#.#|#..##|#...#|#...#"),
        ('O', ".###.|#...#|#...#|#...#|#...#|#...#|.###."),
        ('P', "####.|#...#|#...#|####.|#....|#....|#...."),
        ('Q', ".###.|#...#|#...#|#...#|#.#.#|#..#.|.##.#"),
        ('R', "####.|#...#|#...#|####.|#.#..|#..#.|#...#"),
        ('S', ".####|#....|#....|.###.|....#|....#|####."),
        ('T', "#####|..#..|..#..|..#..|..#..|..#..|..#.."),
        ('U', "#...#|#...#|#...#|#...#|#...#|#...#|.###."),
        ('V', "#...#|#...#|#...#|#...#|#...#|.#.#.|..#.."),
        ('W', "#...#|#...#|#...#|#.#.#|#.#.#|#.#.#|.#.#."),
        ('X', "#...#|#...#|.#.#.|..#..|.#.#.|#...#|#...#"),
        ('Y', "#...#|#...#|.#.#.|..#..|..#..|..#..|..#.."),
        ('Z', "#####|....#|...#.|..#..|.#...|#....|#####"),
        ('[', ".###.|.#...|.#...|.#...|.#...|.#...|.###."),
        ('\\', "#....|#....|.#...|..#..|...#.|....#|....#"),
        (']', ".###.|...#.|...#.|...#.|...#.|...#.|.###."),
        ('^', "..#..|.#.#.|#...#|.....|.....|.....|....."),
        ('_', ".....|.....|.....|.....|.....|.....|.....|#####"),
        ('`', ".#...|..#..|.....|.....|.....|.....|....."),
        ('a', ".....|.....|.###.|....#|.####|#...#|.####"),
        ('b', "#....|#....|####.|#...#|#...#|#...#|####."),
        ('c', ".....|.....|.###.|#...#|#....|#...#|.###."),
        ('d', "....#|....#|.####|#...#|#...#|#...#|.####"),
        ('e', ".....|.....|.###.|#...#|#####|#....|.###."),
        ('f', "..##.|.#..#|.#...|###..|.#...|.#...|.#..."),
        ('g', ".....|.....|.####|#...#|#...#|#...#|.####|....#|.###."),
        ('h', "#....|#....|#.##.|##..#|#...#|#...#|#...#"),
        ('i', "..#..|.....|..#..|..#..|..#..|..#..|..#.."),
        ('j', "...#.|.....|...#.|...#.|...#.|...#.|...#.|#..#.|.##.."),
        ('k', "#....|#....|#..#.|#.#..|##...|#.#..|#..#."),
        ('l', "..#..|..#..|..#..|..#..|..#..|..#..|..#.."),
        ('m', ".....|.....|##.#.|#.#.#|#.#.#|#.#.#|#.#.#"),
        ('n', ".....|.....|#.##.|##..#|#...#|#...#|#...#"),
        ('o', ".....|.....|.###.|#...#|#...#|#...#|.###."),
        ('p', ".....|.....|####.|#...#|#...#|#...#|####.|#....|#...."),
        ('q', ".....|.....|.####|#...#|#...#|#...#|.####|....#|....#"),
        ('r', ".....|.....|#.##.|##..#|#....|#....|#...."),
        ('s', ".....|.....|.####|#....|.###.|....#|####."),
        ('t', ".#...|.#...|###..|.#...|.#...|.#..#|..##."),
        ('u', ".....|.....|#...#|#...#|#...#|#..##|.##.#"),
        ('v', ".....|.....|#...#|#...#|#...#|.#.#.|..#.."),
        ('w', ".....|.....|#...#|#...#|#.#.#|#.#.#|.#.#."),
        ('x', ".....|.....|#...#|.#.#.|..#..|.#.#.|#...#"),
        ('y', ".....|.....|#...#|#...#|#...#|#...#|.####|....#|.###."),
        ('z', ".....|.....|#####|...#.|..#..|.#...|#####"),
        ('{', "...#.|..#..|..#..|.#...|..#..|..#..|...#."),
        ('|', "..#..|..#..|..#..|..#..|..#..|..#..|..#..|..#.."),
        ('}', ".#...|..#..|..#..|...#.|..#..|..#..|.#..."),
        ('~', ".....|.....|.#...|#.#.#|...#.|.....|....."),
    ];

    // Built after Art: static initialisers run in textual order.
    private static readonly Glyph[] Glyphs = BuildGlyphs();
}
