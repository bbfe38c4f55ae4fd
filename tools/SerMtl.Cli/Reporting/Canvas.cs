namespace SerMtl.Cli.Reporting;

/// <summary>An opaque-or-translucent 8-bit RGBA colour.</summary>
internal readonly record struct Rgba(byte R, byte G, byte B, byte A = 255)
{
    /// <summary>Parses <c>#rrggbb</c>.</summary>
    public static Rgba Hex(string hex)
    {
        if (hex.Length != 7 || hex[0] != '#') throw new ArgumentException($"colour '{hex}': expected #rrggbb", nameof(hex));
        var v = Convert.ToInt32(hex[1..], 16);
        return new Rgba((byte)(v >> 16), (byte)(v >> 8), (byte)v);
    }

    /// <summary>The same colour with alpha <paramref name="alpha"/> (0..1).</summary>
    public Rgba WithAlpha(double alpha) => this with { A = (byte)Math.Clamp(Math.Round(alpha * 255), 0, 255) };

    /// <summary>Linear interpolation in sRGB from this colour (t = 0) to <paramref name="other"/> (t = 1).</summary>
    public Rgba Lerp(Rgba other, double t)
    {
        t = Math.Clamp(t, 0, 1);
        static byte L(byte a, byte b, double t) => (byte)Math.Round(a + (b - a) * t);
        return new Rgba(L(R, other.R, t), L(G, other.G, t), L(B, other.B, t), L(A, other.A, t));
    }

    /// <summary>Relative luminance in [0, 1] (sRGB weights, no gamma: good enough to pick black or white text).</summary>
    public double Luminance => (0.2126 * R + 0.7152 * G + 0.0722 * B) / 255.0;
}

/// <summary>An integer pixel rectangle: [X, X + Width) × [Y, Y + Height).</summary>
internal readonly record struct PixelRect(int X, int Y, int Width, int Height)
{
    public int Right => X + Width;
    public int Bottom => Y + Height;
    public double CenterX => X + Width / 2.0;
    public double CenterY => Y + Height / 2.0;
    public bool Contains(int x, int y) => x >= X && x < Right && y >= Y && y < Bottom;
}

/// <summary>
/// A small software raster: an RGBA pixel buffer with source-over blending, crisp rectangles, anti-aliased thick
/// polylines and discs, and text in <see cref="BitmapFont"/>. Continuous coordinates put pixel (x, y)'s centre at
/// (x + 0.5, y + 0.5); integer methods address whole pixels.
/// </summary>
internal sealed class Canvas
{
    /// <summary>Largest side accepted, to keep a bad layout from allocating gigabytes.</summary>
    public const int MaxSide = 8192;

    private readonly byte[] _pixels; // [Height, Width, 4] row-major RGBA

    public Canvas(int width, int height, Rgba background)
    {
        if (width < 1 || height < 1 || width > MaxSide || height > MaxSide)
            throw new ArgumentOutOfRangeException(nameof(width), $"canvas {width}x{height}: each side must be in [1, {MaxSide}]");
        Width = width;
        Height = height;
        _pixels = new byte[width * height * 4];
        FillRect(0, 0, width, height, background with { A = 255 });
    }

    public int Width { get; }
    public int Height { get; }

    /// <summary>The pixels, row-major RGBA, <c>Width * 4</c> bytes per row.</summary>
    public ReadOnlySpan<byte> Pixels => _pixels;

    public Rgba GetPixel(int x, int y)
    {
        var i = (y * Width + x) * 4;
        return new Rgba(_pixels[i], _pixels[i + 1], _pixels[i + 2], _pixels[i + 3]);
    }

    /// <summary>Blends <paramref name="color"/> over pixel (x, y) with extra coverage in [0, 1]; outside pixels are ignored.</summary>
    public void Blend(int x, int y, Rgba color, double coverage = 1)
    {
        if ((uint)x >= (uint)Width || (uint)y >= (uint)Height || coverage <= 0) return;
        var a = color.A / 255.0 * Math.Min(coverage, 1);
        var i = (y * Width + x) * 4;
        if (a >= 1)
        {
            _pixels[i] = color.R;
            _pixels[i + 1] = color.G;
            _pixels[i + 2] = color.B;
            _pixels[i + 3] = 255;
            return;
        }
        // Source-over onto a destination that may itself be translucent.
        var da = _pixels[i + 3] / 255.0;
        var oa = a + da * (1 - a);
        if (oa <= 0) return;
        for (var c = 0; c < 3; c++)
        {
            var s = c == 0 ? color.R : c == 1 ? color.G : color.B;
            _pixels[i + c] = (byte)Math.Round((s * a + _pixels[i + c] * da * (1 - a)) / oa);
        }
        _pixels[i + 3] = (byte)Math.Round(oa * 255);
    }

    /// <summary>Fills whole pixels [x, x + w) × [y, y + h), clipped to the canvas.</summary>
    public void FillRect(int x, int y, int w, int h, Rgba color)
    {
        var x0 = Math.Max(x, 0);
        var y0 = Math.Max(y, 0);
        var x1 = Math.Min(x + w, Width);
        var y1 = Math.Min(y + h, Height);
        for (var py = y0; py < y1; py++)
            for (var px = x0; px < x1; px++)
                Blend(px, py, color);
    }

    public void FillRect(PixelRect r, Rgba color) => FillRect(r.X, r.Y, r.Width, r.Height, color);

    /// <summary>A 1-pixel outline just inside <paramref name="r"/>.</summary>
    public void StrokeRect(PixelRect r, Rgba color)
    {
        FillRect(r.X, r.Y, r.Width, 1, color);
        FillRect(r.X, r.Bottom - 1, r.Width, 1, color);
        FillRect(r.X, r.Y + 1, 1, r.Height - 2, color);
        FillRect(r.Right - 1, r.Y + 1, 1, r.Height - 2, color);
    }

    /// <summary>Copies <paramref name="source"/> onto this canvas with its top-left corner at (x, y).</summary>
    public void Blit(Canvas source, int x, int y)
    {
        for (var sy = 0; sy < source.Height; sy++)
            for (var sx = 0; sx < source.Width; sx++)
                Blend(x + sx, y + sy, source.GetPixel(sx, sy));
    }

    /// <summary>An anti-aliased line of the given width with round ends.</summary>
    public void DrawLine(double x0, double y0, double x1, double y1, double width, Rgba color, PixelRect? clip = null) =>
        StrokePolyline([(x0, y0), (x1, y1)], width, color, clip);

    /// <summary>A dashed anti-aliased line: <paramref name="dash"/> pixels on, <paramref name="gap"/> off.</summary>
    public void DrawDashedLine(double x0, double y0, double x1, double y1, double width, Rgba color, double dash = 6, double gap = 4)
    {
        var length = Math.Sqrt((x1 - x0) * (x1 - x0) + (y1 - y0) * (y1 - y0));
        if (length <= 0) return;
        var (ux, uy) = ((x1 - x0) / length, (y1 - y0) / length);
        for (var s = 0.0; s < length; s += dash + gap)
        {
            var e = Math.Min(s + dash, length);
            DrawLine(x0 + ux * s, y0 + uy * s, x0 + ux * e, y0 + uy * e, width, color);
        }
    }

    /// <summary>
    /// Strokes a connected polyline with round joins and ends. Coverage is the maximum over segments of
    /// <c>halfWidth + 0.5 - distance</c>, so joins are blended once and translucent lines do not darken there.
    /// </summary>
    public void StrokePolyline(ReadOnlySpan<(double X, double Y)> points, double width, Rgba color, PixelRect? clip = null)
    {
        if (points.Length == 0) return;
        var half = width / 2;
        var pad = half + 1;
        double minX = double.MaxValue, minY = double.MaxValue, maxX = double.MinValue, maxY = double.MinValue;
        foreach (var (px, py) in points)
        {
            if (!double.IsFinite(px) || !double.IsFinite(py)) throw new ArgumentException("polyline point is not finite", nameof(points));
            minX = Math.Min(minX, px); maxX = Math.Max(maxX, px);
            minY = Math.Min(minY, py); maxY = Math.Max(maxY, py);
        }
        var area = clip ?? new PixelRect(0, 0, Width, Height);
        var bx0 = Math.Max(Math.Max((int)Math.Floor(minX - pad), area.X), 0);
        var by0 = Math.Max(Math.Max((int)Math.Floor(minY - pad), area.Y), 0);
        var bx1 = Math.Min(Math.Min((int)Math.Ceiling(maxX + pad), area.Right), Width);
        var by1 = Math.Min(Math.Min((int)Math.Ceiling(maxY + pad), area.Bottom), Height);
        if (bx1 <= bx0 || by1 <= by0) return;

        var bw = bx1 - bx0;
        var coverage = new float[bw * (by1 - by0)];
        for (var k = 0; k < Math.Max(points.Length - 1, 1); k++)
        {
            var (ax, ay) = points[k];
            var (cx, cy) = points[Math.Min(k + 1, points.Length - 1)];
            var sx0 = Math.Max((int)Math.Floor(Math.Min(ax, cx) - pad), bx0);
            var sy0 = Math.Max((int)Math.Floor(Math.Min(ay, cy) - pad), by0);
            var sx1 = Math.Min((int)Math.Ceiling(Math.Max(ax, cx) + pad), bx1);
            var sy1 = Math.Min((int)Math.Ceiling(Math.Max(ay, cy) + pad), by1);
            for (var y = sy0; y < sy1; y++)
            {
                for (var x = sx0; x < sx1; x++)
                {
                    var d = DistanceToSegment(x + 0.5, y + 0.5, ax, ay, cx, cy);
                    var c = (float)Math.Clamp(half + 0.5 - d, 0, 1);
                    ref var slot = ref coverage[(y - by0) * bw + (x - bx0)];
                    if (c > slot) slot = c;
                }
            }
        }
        for (var y = by0; y < by1; y++)
            for (var x = bx0; x < bx1; x++)
                Blend(x, y, color, coverage[(y - by0) * bw + (x - bx0)]);
    }

    /// <summary>An anti-aliased filled disc.</summary>
    public void FillCircle(double cx, double cy, double radius, Rgba color)
    {
        var x0 = (int)Math.Floor(cx - radius - 1);
        var x1 = (int)Math.Ceiling(cx + radius + 1);
        var y0 = (int)Math.Floor(cy - radius - 1);
        var y1 = (int)Math.Ceiling(cy + radius + 1);
        for (var y = y0; y < y1; y++)
        {
            for (var x = x0; x < x1; x++)
            {
                var d = Math.Sqrt((x + 0.5 - cx) * (x + 0.5 - cx) + (y + 0.5 - cy) * (y + 0.5 - cy));
                Blend(x, y, color, Math.Clamp(radius + 0.5 - d, 0, 1));
            }
        }
    }

    /// <summary>Draws <paramref name="text"/> with its cap box's top-left corner at (x, y). Returns the advance width.</summary>
    public int DrawText(string text, int x, int y, Rgba color, int scale = 1, bool bold = false) =>
        BitmapFont.Draw(this, text, x, y, color, scale, rotated: false, bold);

    /// <summary>Draws text turned 90° counter-clockwise (reading upwards), its baseline-left at (x, y) as drawn upright.</summary>
    public int DrawTextUp(string text, int x, int y, Rgba color, int scale = 1, bool bold = false) =>
        BitmapFont.Draw(this, text, x, y, color, scale, rotated: true, bold);

    /// <summary>Draws text centred horizontally on <paramref name="centerX"/>, cap box top at <paramref name="y"/>.</summary>
    public void DrawTextCentered(string text, double centerX, int y, Rgba color, int scale = 1, bool bold = false) =>
        DrawText(text, (int)Math.Round(centerX - BitmapFont.Measure(text, scale, bold) / 2.0), y, color, scale, bold);

    /// <summary>Draws text ending at <paramref name="right"/>, cap box top at <paramref name="y"/>.</summary>
    public void DrawTextRight(string text, int right, int y, Rgba color, int scale = 1, bool bold = false) =>
        DrawText(text, right - BitmapFont.Measure(text, scale, bold), y, color, scale, bold);

    private static double DistanceToSegment(double px, double py, double ax, double ay, double bx, double by)
    {
        var dx = bx - ax;
        var dy = by - ay;
        var len2 = dx * dx + dy * dy;
        var t = len2 > 0 ? Math.Clamp(((px - ax) * dx + (py - ay) * dy) / len2, 0, 1) : 0;
        var qx = ax + t * dx - px;
        var qy = ay + t * dy - py;
        return Math.Sqrt(qx * qx + qy * qy);
    }
}
