using System.Globalization;
using System.Net;
using System.Text;
using SerMtl.Experiments;

namespace SerMtl.Reporting;

/// <summary>
/// The report page: one HTML file, inline CSS, no scripts, images by relative file name. Every string from the run
/// (fold names, labels, settings) is HTML-encoded.
/// </summary>
internal static class ReportHtml
{
    public static string Build(RunData run, ReportImages images)
    {
        var r = run.Results;
        var html = new StringBuilder();
        var runName = Path.GetFileName(run.Directory.TrimEnd(Path.DirectorySeparatorChar));
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
            .Append($"<title>SerMtl report: {E(runName)}</title>\n<style>\n{Css}</style>\n</head>\n<body>\n<main>\n");

        var kind = r.Folds.Count >= 2 ? "cross-validation report" : "training report";
        html.Append($"<header>\n<h1>Speech emotion recognition: {kind}</h1>\n")
            .Append($"<p class=\"meta\">Run <code>{E(run.Directory)}</code></p>\n")
            .Append("<p class=\"meta\">")
            .Append($"protocol <b>{E(r.Protocol)}</b> &middot; &alpha; = <b>{E(Number(r.Alpha))}</b> (L = CE + &alpha;&middot;CTC) &middot; ")
            .Append($"{r.Folds.Count} fold{(r.Folds.Count == 1 ? "" : "s")} &middot; classes: {E(string.Join(", ", r.Labels))}</p>\n</header>\n");

        if (run.Warnings.Count > 0)
        {
            html.Append("<section class=\"warn\"><h2>Check these</h2><ul>\n");
            foreach (var w in run.Warnings) html.Append($"<li>{E(w)}</li>\n");
            html.Append("</ul></section>\n");
        }

        // Headline numbers: the pooled row, the figures a paper would quote.
        html.Append("<section class=\"cards\">\n");
        Card(html, "Weighted accuracy", Pct(r.Pooled.WeightedAccuracy), "pooled, correct / all test utterances");
        Card(html, "Unweighted accuracy", Pct(r.Pooled.UnweightedAccuracy), "pooled, mean per-class recall");
        Card(html, "Macro F1", Pct(r.Pooled.MacroF1), "pooled");
        Card(html, "WER", Pct(r.Pooled.Wer), "mean of the fold WERs");
        Card(html, "Test utterances", r.Pooled.Test.ToString("N0", CultureInfo.InvariantCulture), $"{r.Folds.Count} fold{(r.Folds.Count == 1 ? "" : "s")}");
        html.Append("</section>\n");

        html.Append("<section>\n<h2>Protocol</h2>\n<div class=\"note\">\n").Append(ProtocolNote(r.Protocol)).Append("</div>\n</section>\n");

        FoldTable(html, run);

        html.Append("<section>\n<h2>Confusion matrix and learning curves</h2>\n<div class=\"grid\">\n");
        Figure(html, images.PooledConfusion,
            "Rows are true classes, columns predictions; each row sums to 100 %, so the diagonal is the per-class recall whose mean is UA.");
        Figure(html, images.Overview, "Validation UA and WER of every fold over the same epochs.");
        if (images.PooledConfusion is null) html.Append("<p class=\"muted\">results.json has no pooled confusion matrix.</p>\n");
        html.Append("</div>\n</section>\n");

        html.Append("<section>\n<h2>Training curves per fold</h2>\n")
            .Append("<p class=\"muted\">Validation accuracy and WER on the validation split carved from the training speakers, on one epoch axis ")
            .Append("(as in the paper's Figure 2, accuracy tends to climb once WER has settled), and the training losses. ")
            .Append("The dashed line marks the epoch whose weights were kept; losses are on a log scale.</p>\n<div class=\"grid\">\n");
        foreach (var (curves, image) in images.FoldCurves)
        {
            if (image is not null) Figure(html, image, null);
            else if (curves.Epochs.Count == 0) html.Append($"<p class=\"muted\">{E(curves.Name)}: {E(curves.SourcePath)} has no epochs yet.</p>\n");
            else html.Append($"<p class=\"muted\">{E(curves.Name)}: {E(curves.SourcePath)} has no validation or loss columns to plot.</p>\n");
        }
        html.Append("</div>\n");
        if (run.FoldsWithoutLog.Count > 0)
            html.Append($"<p class=\"muted\">No per-epoch log ({EpochLog.FoldsFolder}/&lt;fold&gt;/{EpochLog.FileName}) for: {E(string.Join(", ", run.FoldsWithoutLog))}.</p>\n");
        html.Append("</section>\n");

        if (images.FoldConfusions.Count > 0)
        {
            html.Append("<section>\n<h2>Confusion matrix per fold</h2>\n")
                .Append("<p class=\"muted\">Row-normalised percentages and counts; rows are true classes.</p>\n<div class=\"grid\">\n");
            foreach (var (_, image) in images.FoldConfusions) Figure(html, image, null);
            html.Append("</div>\n</section>\n");
        }

        if (r.Settings is { Count: > 0 } settings)
        {
            html.Append("<section>\n<h2>Settings</h2>\n<table class=\"settings\">\n");
            foreach (var (key, value) in settings.OrderBy(s => s.Key, StringComparer.Ordinal))
                html.Append($"<tr><th>{E(key)}</th><td>{E(value)}</td></tr>\n");
            html.Append("</table>\n</section>\n");
        }

        html.Append($"<footer>Written by SerMtl.Reporting from {RunResults.FileName} and the runs' {EpochLog.FileName} files.</footer>\n")
            .Append("</main>\n</body>\n</html>\n");
        return html.ToString();
    }

    private static void FoldTable(StringBuilder html, RunData run)
    {
        var r = run.Results;
        var epochs = run.Curves.Where(c => c.Fold is not null).ToDictionary(c => c.Fold!.Name, c => c.Epochs.Count, StringComparer.Ordinal);
        var showKept = r.Folds.Any(f => f.BestEpoch is not null);
        html.Append("<section>\n<h2>Results per fold</h2>\n<table class=\"folds\">\n<thead><tr>")
            .Append("<th>Fold</th><th>Test</th><th>WA</th><th>UA</th><th>Macro F1</th><th>WER</th><th>Epochs</th>")
            .Append(showKept ? "<th>Kept epoch</th>" : "")
            .Append("</tr></thead>\n<tbody>\n");
        foreach (var f in r.Folds)
        {
            html.Append($"<tr><td class=\"name\">{E(f.Name)}</td><td>{f.Test.ToString(CultureInfo.InvariantCulture)}</td>")
                .Append(PctCell(f.WeightedAccuracy)).Append(PctCell(f.UnweightedAccuracy)).Append(PctCell(f.MacroF1))
                .Append($"<td>{Pct(f.Wer)}</td>")
                .Append($"<td>{(epochs.TryGetValue(f.Name, out var n) ? n.ToString(CultureInfo.InvariantCulture) : "&ndash;")}</td>")
                .Append(showKept ? $"<td>{(f.BestEpoch is { } b ? b.ToString(CultureInfo.InvariantCulture) : "&ndash;")}</td>" : "")
                .Append("</tr>\n");
        }
        if (r.Folds.Count == 0) html.Append($"<tr><td colspan=\"{(showKept ? 8 : 7)}\" class=\"muted\">No fold has finished.</td></tr>\n");
        var p = r.Pooled;
        html.Append("</tbody>\n<tfoot><tr class=\"pooled\">")
            .Append($"<td class=\"name\">pooled</td><td>{p.Test.ToString(CultureInfo.InvariantCulture)}</td>")
            .Append(PctCell(p.WeightedAccuracy)).Append(PctCell(p.UnweightedAccuracy)).Append(PctCell(p.MacroF1))
            .Append($"<td>{Pct(p.Wer)}</td><td></td>").Append(showKept ? "<td></td>" : "")
            .Append("</tr></tfoot>\n</table>\n")
            .Append("<p class=\"muted\">WA = correct / total; UA = mean of per-class recalls; macro F1 = mean of per-class F1. ")
            .Append("Pooled WA counts correct predictions over all test utterances (the paper's Eq. 4); pooled WER is the mean of the fold WERs (Eq. 5).</p>\n")
            .Append("</section>\n");
    }

    private static string ProtocolNote(string protocol) => protocol.ToLowerInvariant() switch
    {
        "paper" =>
            "<p><b>paper</b>: the ten folds of the paper's released code. Each fold tests on the dialogs whose name starts with one " +
            "session-and-gender prefix (<code>Ses01F</code>, <code>Ses01M</code>, &hellip;) and trains on the rest. Both actors of a session " +
            "speak in every one of its dialogs, so <b>the test speakers also appear in training</b> (in the session's other dialogs). " +
            "These numbers are speaker-dependent and come out higher than speaker-independent folds; compare them only with results " +
            "obtained the same way, such as the paper's table.</p>\n",
        "speaker" =>
            "<p><b>speaker</b>: leave one speaker out, ten folds. The test speaker is never heard in training, so the numbers are " +
            "speaker-independent (the test speaker's session partner does stay in training). Expect them below the <code>paper</code> " +
            "protocol's on the same model.</p>\n",
        "session" =>
            "<p><b>session</b>: leave one session out, five folds (the SUPERB and emotion2vec protocol). Neither speaker of the test " +
            "session is heard in training: speaker-independent, and usually the strictest of the three.</p>\n",
        _ =>
            $"<p><b>{E(protocol)}</b>: a fold protocol this report does not describe; see the tool that wrote the run. " +
            "Whether speakers are shared between training and test decides how far its numbers compare with the paper's.</p>\n",
    } + "<p>Model selection (the kept epoch) uses a validation split carved from each fold's training speakers; the test fold is " +
        "never used for it. Paper folds share speakers between train and test; speaker and session folds do not.</p>\n";

    private static void Card(StringBuilder html, string title, string value, string detail) =>
        html.Append($"<div class=\"card\"><div class=\"label\">{E(title)}</div><div class=\"value\">{value}</div><div class=\"detail\">{E(detail)}</div></div>\n");

    private static void Figure(StringBuilder html, ReportImage? image, string? caption)
    {
        if (image is null) return;
        html.Append($"<figure><img src=\"{E(Uri.EscapeDataString(image.FileName))}\" width=\"{image.Width}\" height=\"{image.Height}\" alt=\"{E(image.Alt)}\">");
        if (caption is not null) html.Append($"<figcaption>{E(caption)}</figcaption>");
        html.Append("</figure>\n");
    }

    private static string PctCell(double? fraction) => $"<td>{Pct(fraction)}</td>";

    private static string Pct(double? fraction) =>
        fraction is { } f && double.IsFinite(f) ? (f * 100).ToString("F2", CultureInfo.InvariantCulture) + "&thinsp;%" : "&ndash;";

    private static string Number(double v) => v.ToString("G6", CultureInfo.InvariantCulture);

    private static string E(string s) => WebUtility.HtmlEncode(s);

    private const string Css = """
        :root { --ink: #111827; --text: #374151; --muted: #6b7280; --line: #e5e7eb; --accent: #2563c9; --soft: #eef3fb; }
        * { box-sizing: border-box; }
        body { margin: 0; background: #f6f7f9; color: var(--text); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
        main { max-width: 1260px; margin: 0 auto; padding: 28px 20px 40px; }
        h1 { color: var(--ink); font-size: 26px; margin: 0 0 6px; }
        h2 { color: var(--ink); font-size: 18px; margin: 0 0 12px; }
        section { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 18px 20px; margin: 18px 0; }
        .meta { margin: 2px 0; color: var(--muted); }
        code { font: 13px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #f1f3f5; padding: 1px 5px; border-radius: 4px; }
        .cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px; background: none; border: 0; padding: 0; }
        .card { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px; }
        .card .label { color: var(--muted); font-size: 13px; text-transform: uppercase; letter-spacing: .04em; }
        .card .value { color: var(--ink); font-size: 28px; font-weight: 650; font-variant-numeric: tabular-nums; }
        .card .detail { color: var(--muted); font-size: 12px; }
        .note { background: var(--soft); border-left: 4px solid var(--accent); padding: 4px 14px; border-radius: 4px; }
        .note p { margin: 8px 0; }
        .warn { border-color: #f0b429; background: #fffbea; }
        table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
        th, td { padding: 7px 10px; border-bottom: 1px solid var(--line); text-align: right; }
        th { color: var(--muted); font-weight: 600; font-size: 13px; text-transform: uppercase; letter-spacing: .03em; }
        td.name, th:first-child { text-align: left; }
        td.name { font-weight: 600; color: var(--ink); }
        tr.pooled td { border-top: 2px solid var(--ink); border-bottom: 0; font-weight: 700; color: var(--ink); }
        table.settings { width: auto; }
        table.settings th, table.settings td { text-align: left; text-transform: none; letter-spacing: 0; }
        .grid { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
        figure { margin: 0; }
        figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; }
        figcaption { color: var(--muted); font-size: 13px; margin-top: 6px; max-width: 560px; }
        .muted { color: var(--muted); font-size: 14px; }
        footer { color: var(--muted); font-size: 13px; text-align: center; margin-top: 24px; }

        """;
}
