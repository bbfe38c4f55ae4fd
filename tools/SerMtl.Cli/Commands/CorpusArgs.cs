using System.CommandLine;
using System.Globalization;
using SerMtl.Data.Corpora;
using SerMtl.Data.Iemocap;
using SerMtl.Data.Protocols;

namespace SerMtl.Cli.Commands;

/// <summary>A corpus and its folds as the data options chose them.</summary>
/// <param name="Corpus">The labelled corpus.</param>
/// <param name="Folds">The protocol's folds (all of them).</param>
/// <param name="Protocol">The protocol's name as given (<c>paper</c>, <c>speaker</c>, <c>session</c>, <c>kfold:K</c>).</param>
/// <param name="Source">What was read: the IEMOCAP release or manifest path.</param>
/// <param name="Skipped">Utterances left out under --skip-missing.</param>
/// <param name="Validation">How each fold's validation split was carved.</param>
internal sealed record CorpusSelection(SpeechCorpus Corpus, IReadOnlyList<Fold> Folds, string Protocol, string Source,
    IReadOnlyList<SkippedSample> Skipped, ValidationOptions Validation);

/// <summary>The data options shared by <c>train</c>, <c>evaluate</c> and <c>cv</c>.</summary>
internal sealed class CorpusArgs
{
    /// <summary>The protocols, as the --protocol help explains them.</summary>
    public const string ProtocolHelp = """
        paper   10 folds Ses01F..Ses05M: test = dialogs with that prefix (both actors of the session also speak in training dialogs: speaker-dependent)
        speaker 10 folds (IEMOCAP) / one per speaker, leave one speaker out
        session 5 folds Session1..Session5, leave one session out
        kfold:K K folds that partition the speakers (manifests)
        """;

    /// <summary>The validation strategies, as the --validation help explains them.</summary>
    public const string ValidationHelp = """
        how each fold carves validation from its training side (never its test side):
        fraction[:F] (default fraction:0.1, stratified by speaker), speakers[:N] (hold out N training speakers), or none
        """;

    private readonly Option<string?> _iemocap = CliOption.Text("--iemocap", "ROOT", "an IEMOCAP release (IEMOCAP_full_release, its parent, or a doubled folder)");
    private readonly Option<string?> _manifest = CliOption.Text("--manifest", "FILE", "or a CSV/TSV manifest (columns path, label[, speaker, transcript, id, session])");
    private readonly Option<string?> _protocol = CliOption.Text("--protocol", "P", ProtocolHelp);
    private readonly Option<string?> _labels = CliOption.Text("--labels", "SPEC",
        "label map, IEMOCAP default \"neu=neutral, hap+exc=happy, ang=angry, sad=sad\"; for a manifest every raw label is a class unless given");
    private readonly Option<string> _validation = new("--validation") { HelpName = "V", Description = ValidationHelp, DefaultValueFactory = _ => "fraction" };
    private readonly Option<bool> _skipMissing = CliOption.Flag("--skip-missing", "leave out utterances whose audio or transcript is missing (default: error)");
    private readonly bool _protocolRequired;

    /// <summary>Data options; without a required protocol (evaluate), no protocol means no folds.</summary>
    public CorpusArgs(bool protocolRequired = true) => _protocolRequired = protocolRequired;

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { _iemocap, _manifest, _protocol, _labels, _validation, _skipMissing }) command.Add(option);
    }

    /// <summary>
    /// Reads the corpus and builds the folds. <paramref name="seed"/> seeds the validation split (and k-fold
    /// assignment).
    /// </summary>
    public CorpusSelection Load(ParseResult parse, int seed)
    {
        var iemocap = parse.GetValue(_iemocap);
        var manifest = parse.GetValue(_manifest);
        if ((iemocap is null) == (manifest is null))
            throw new UsageException("give exactly one of --iemocap ROOT and --manifest FILE");
        var protocol = parse.GetValue(_protocol);
        if (protocol is null && _protocolRequired) throw new UsageException("missing required option --protocol (paper|speaker|session|kfold:K)");
        var labelSpec = parse.GetValue(_labels);
        LabelMap? labels;
        try
        {
            labels = labelSpec is null ? null : LabelMap.Parse(labelSpec);
        }
        catch (FormatException e)
        {
            throw new UsageException("--labels: " + e.Message);
        }
        var validation = ParseValidation(parse.GetValue(_validation) ?? "fraction", seed);
        var missing = parse.GetValue(_skipMissing) ? MissingFilePolicy.Skip : MissingFilePolicy.Error;

        if (iemocap is not null)
        {
            var dataset = IemocapDataset.Load(iemocap, new IemocapOptions { MissingFiles = missing });
            var corpus = dataset.ToCorpus(labels ?? LabelMap.IemocapFourClass);
            IReadOnlyList<Fold> folds = protocol switch
            {
                null => [],
                "paper" => Folds.Iemocap(corpus, IemocapProtocol.Paper, validation),
                "speaker" => Folds.Iemocap(corpus, IemocapProtocol.Speaker, validation),
                "session" => Folds.Iemocap(corpus, IemocapProtocol.Session, validation),
                _ when protocol!.StartsWith("kfold:", StringComparison.Ordinal) => Folds.KFoldBySpeaker(corpus, ParseK(protocol), seed, validation),
                _ => throw new UsageException($"--protocol expects paper|speaker|session|kfold:K, got '{protocol}'"),
            };
            return new CorpusSelection(corpus, folds, protocol ?? "none", dataset.ReleaseDirectory, dataset.Skipped, validation);
        }
        else
        {
            var dataset = ManifestDataset.Load(manifest!, new ManifestOptions { MissingFiles = missing });
            var corpus = dataset.ToCorpus(labels);
            IReadOnlyList<Fold> folds = protocol switch
            {
                null => [],
                "speaker" => Folds.LeaveOneSpeakerOut(corpus, validation),
                "session" => Folds.LeaveOneSessionOut(corpus, validation),
                _ when protocol!.StartsWith("kfold:", StringComparison.Ordinal) => Folds.KFoldBySpeaker(corpus, ParseK(protocol), seed, validation),
                "paper" => throw new UsageException("--protocol paper needs IEMOCAP dialog names; use it with --iemocap (manifests: speaker|session|kfold:K)"),
                _ => throw new UsageException($"--protocol expects speaker|session|kfold:K for a manifest, got '{protocol}'"),
            };
            return new CorpusSelection(corpus, folds, protocol ?? "none", dataset.ManifestPath, dataset.Skipped, validation);
        }
    }

    /// <summary>Parses <c>none</c>, <c>fraction[:F]</c> or <c>speakers[:N]</c>.</summary>
    public static ValidationOptions ParseValidation(string spec, int seed)
    {
        var parts = spec.Split(':', 2);
        var value = parts.Length == 2 ? parts[1] : null;
        switch (parts[0])
        {
            case "none" when value is null:
                return ValidationOptions.None;
            case "fraction":
                var fraction = 0.1;
                if (value is not null && !(double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out fraction) && fraction > 0 && fraction < 1))
                    throw new UsageException($"--validation fraction:F needs F in (0, 1), got '{value}'");
                return new ValidationOptions { Strategy = ValidationStrategy.UtteranceFraction, Fraction = fraction, Seed = seed };
            case "speakers":
                var count = 1;
                if (value is not null && !(int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out count) && count >= 1))
                    throw new UsageException($"--validation speakers:N needs a whole number N >= 1, got '{value}'");
                return new ValidationOptions { Strategy = ValidationStrategy.HoldOutSpeakers, Speakers = count, Seed = seed };
            default:
                throw new UsageException($"--validation expects none, fraction[:F] or speakers[:N], got '{spec}'");
        }
    }

    /// <summary>A one-line description of <paramref name="v"/>.</summary>
    public static string Describe(ValidationOptions v) => v.Strategy switch
    {
        ValidationStrategy.None => "none",
        ValidationStrategy.UtteranceFraction => string.Create(CultureInfo.InvariantCulture, $"{v.Fraction * 100:0.##}% of training utterances per speaker, seed {v.Seed}"),
        _ => $"{v.Speakers} held-out training speaker(s), seed {v.Seed}",
    };

    /// <summary>The folds named by <c>--folds A,B</c> (all when absent), in protocol order.</summary>
    public static IReadOnlyList<Fold> SelectFolds(IReadOnlyList<Fold> folds, string? spec)
    {
        if (spec is null) return folds;
        var names = spec.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        if (names.Count == 0) throw new UsageException("--folds needs at least one fold name");
        try
        {
            var chosen = Folds.Select(folds, names);
            return folds.Where(f => chosen.Contains(f)).ToList();
        }
        catch (ArgumentException e)
        {
            throw new UsageException("--folds: " + e.Message.Split(" (Parameter", 2)[0]);
        }
    }

    /// <summary>
    /// Limits each split of <paramref name="fold"/> to <paramref name="max"/> utterances, a seeded random subset kept in
    /// corpus order (for quick smoke runs; results on a subset are not comparable with full runs).
    /// </summary>
    public static Fold Limit(Fold fold, int? max, int seed)
    {
        if (max is not { } n) return fold;
        IReadOnlyList<SpeechSample> Take(IReadOnlyList<SpeechSample> split, string name)
        {
            if (split.Count <= n) return split;
            // System.Random with a seed repeats its sequence within a runtime version: a rerun (resume) sees the same subset.
            var random = new Random(seed * 3 + name switch { "train" => 0, "validation" => 1, _ => 2 });
            var keep = Enumerable.Range(0, split.Count).OrderBy(_ => random.Next()).Take(n).Order().ToList();
            return keep.Select(i => split[i]).ToList();
        }
        return fold with { Train = Take(fold.Train, "train"), Validation = Take(fold.Validation, "validation"), Test = Take(fold.Test, "test") };
    }

    private static int ParseK(string protocol)
    {
        if (!int.TryParse(protocol.AsSpan(6), NumberStyles.Integer, CultureInfo.InvariantCulture, out var k) || k < 2)
            throw new UsageException($"--protocol kfold:K needs a whole number K >= 2, got '{protocol}'");
        return k;
    }
}
