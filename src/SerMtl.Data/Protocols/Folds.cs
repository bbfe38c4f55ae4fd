using System.Text.RegularExpressions;
using SerMtl.Data.Corpora;

namespace SerMtl.Data.Protocols;

/// <summary>
/// Cross-validation folds over a <see cref="SpeechCorpus"/>. Every fold's test set is fixed by the protocol; its
/// validation set is carved from the remaining (training) samples by <see cref="ValidationOptions"/>
/// (default <see cref="ValidationOptions.Default"/>), so nothing used for model selection is ever tested on.
/// </summary>
public static partial class Folds
{
    [GeneratedRegex(@"^Ses\d\d[FM]_")]
    private static partial Regex IemocapDialogRegex();

    /// <summary>
    /// The folds of an IEMOCAP protocol: <see cref="IemocapProtocol.Paper"/> and <see cref="IemocapProtocol.Speaker"/>
    /// give folds <c>Ses01F</c>…<c>Ses05M</c>, <see cref="IemocapProtocol.Session"/> gives <c>Session1</c>…<c>Session5</c>
    /// (fewer when the corpus has fewer sessions). See <see cref="IemocapProtocol"/> for what each means.
    /// </summary>
    /// <exception cref="ArgumentException">The corpus lacks what the protocol needs (IEMOCAP dialogs, speakers or sessions).</exception>
    public static IReadOnlyList<Fold> Iemocap(SpeechCorpus corpus, IemocapProtocol protocol, ValidationOptions? validation = null)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        switch (protocol)
        {
            case IemocapProtocol.Paper:
                foreach (var s in corpus.Samples)
                {
                    if (s.Dialog is null || !IemocapDialogRegex().IsMatch(s.Dialog))
                        throw new ArgumentException($"corpus '{corpus.Name}': sample '{s.Id}' has dialog '{s.Dialog}', the paper protocol needs IEMOCAP dialog names (SesNNF_…/SesNNM_…)", nameof(corpus));
                }
                return Build(corpus, s => s.Dialog![..6], validation);
            case IemocapProtocol.Speaker:
                return LeaveOneSpeakerOut(corpus, validation);
            case IemocapProtocol.Session:
                return LeaveOneSessionOut(corpus, validation);
            default:
                throw new ArgumentOutOfRangeException(nameof(protocol), protocol, "unknown IEMOCAP protocol");
        }
    }

    /// <summary>One fold per speaker, named after it and testing on all of that speaker's samples (speakers in ordinal order).</summary>
    /// <exception cref="ArgumentException">A sample has no speaker, or there is only one speaker.</exception>
    public static IReadOnlyList<Fold> LeaveOneSpeakerOut(SpeechCorpus corpus, ValidationOptions? validation = null)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        RequireSpeakers(corpus);
        return Build(corpus, s => s.Speaker, validation);
    }

    /// <summary>One fold per <see cref="SpeechSample.Session"/>, named after it (ordinal order).</summary>
    /// <exception cref="ArgumentException">A sample has no session, or there is only one session.</exception>
    public static IReadOnlyList<Fold> LeaveOneSessionOut(SpeechCorpus corpus, ValidationOptions? validation = null)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        foreach (var s in corpus.Samples)
        {
            if (string.IsNullOrEmpty(s.Session))
                throw new ArgumentException($"corpus '{corpus.Name}': sample '{s.Id}' has no session; session folds need one for every sample", nameof(corpus));
        }
        return Build(corpus, s => s.Session!, validation);
    }

    /// <summary>
    /// <paramref name="k"/> folds <c>Fold1</c>…<c>FoldK</c> that partition the speakers: each speaker is tested in
    /// exactly one fold. Speakers are assigned (after a seeded shuffle) largest first to the fold with the fewest
    /// samples, so folds come out about equal in size.
    /// </summary>
    /// <exception cref="ArgumentException">A sample has no speaker.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is below 2 or above the number of speakers.</exception>
    public static IReadOnlyList<Fold> KFoldBySpeaker(SpeechCorpus corpus, int k, int seed = 0, ValidationOptions? validation = null)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        RequireSpeakers(corpus);
        var counts = corpus.Samples.GroupBy(s => s.Speaker, StringComparer.Ordinal)
            .Select(g => (Speaker: g.Key, Count: g.Count()))
            .OrderBy(x => x.Speaker, StringComparer.Ordinal)
            .ToList();
        if (k < 2 || k > counts.Count)
            throw new ArgumentOutOfRangeException(nameof(k), k, $"corpus '{corpus.Name}' has {counts.Count} speakers; k must be in [2, {counts.Count}]");
        var rng = DeterministicRandom.For(seed, "speaker-folds");
        rng.Shuffle(counts);
        var ordered = counts.Select((x, i) => (x.Speaker, x.Count, i)).OrderByDescending(x => x.Count).ThenBy(x => x.i).ToList();
        var sizes = new int[k];
        var foldOf = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (speaker, count, _) in ordered)
        {
            var target = Array.IndexOf(sizes, sizes.Min());
            sizes[target] += count;
            foldOf[speaker] = $"Fold{target + 1}";
        }
        return Build(corpus, s => foldOf[s.Speaker], validation, names => names.OrderBy(n => int.Parse(n.AsSpan(4))));
    }

    /// <summary>The folds named in <paramref name="names"/>, in that order (e.g. to run a subset of folds in one process).</summary>
    /// <exception cref="ArgumentException">A name is not a fold of <paramref name="folds"/>; the message lists the names there are.</exception>
    public static IReadOnlyList<Fold> Select(IReadOnlyList<Fold> folds, IEnumerable<string> names)
    {
        ArgumentNullException.ThrowIfNull(folds);
        ArgumentNullException.ThrowIfNull(names);
        var byName = folds.ToDictionary(f => f.Name, StringComparer.Ordinal);
        return names.Select(n => byName.TryGetValue(n, out var f)
                ? f
                : throw new ArgumentException($"no fold named '{n}'; the folds are {string.Join(", ", folds.Select(x => x.Name))}", nameof(names)))
            .ToList();
    }

    private static void RequireSpeakers(SpeechCorpus corpus)
    {
        foreach (var s in corpus.Samples)
        {
            if (string.IsNullOrEmpty(s.Speaker))
                throw new ArgumentException($"corpus '{corpus.Name}': sample '{s.Id}' has no speaker; speaker-based folds need one for every sample (e.g. a speaker column in the manifest)", nameof(corpus));
        }
    }

    /// <summary>One fold per distinct value of <paramref name="testGroup"/>: that group is the test set.</summary>
    private static List<Fold> Build(SpeechCorpus corpus, Func<SpeechSample, string> testGroup, ValidationOptions? validation,
        Func<IEnumerable<string>, IEnumerable<string>>? order = null)
    {
        validation ??= ValidationOptions.Default;
        validation.Validate();
        var groups = corpus.Samples.Select(testGroup).ToArray();
        var distinct = groups.Distinct(StringComparer.Ordinal);
        var names = (order is null ? distinct.Order(StringComparer.Ordinal) : order(distinct)).ToList();
        if (names.Count < 2)
            throw new ArgumentException($"corpus '{corpus.Name}': {names.Count} group(s) ({string.Join(", ", names)}), cross-validation needs at least 2", nameof(corpus));

        var folds = new List<Fold>(names.Count);
        foreach (var name in names)
        {
            var test = new List<SpeechSample>();
            var pool = new List<SpeechSample>();
            for (var i = 0; i < groups.Length; i++)
                (groups[i] == name ? test : pool).Add(corpus.Samples[i]);
            var held = ValidationSplit(corpus, name, pool, test, validation);
            var train = held.Count == 0 ? pool : pool.Where(s => !held.Contains(s)).ToList();
            var valid = held.Count == 0 ? [] : pool.Where(held.Contains).ToList();
            if (train.Count == 0)
                throw new ArgumentException($"corpus '{corpus.Name}': fold '{name}' leaves no training samples", nameof(corpus));
            folds.Add(new Fold(name, train, valid, test));
        }
        return folds;
    }

    /// <summary>The samples of <paramref name="pool"/> (the fold's non-test side) that go to validation.</summary>
    private static HashSet<SpeechSample> ValidationSplit(SpeechCorpus corpus, string fold, List<SpeechSample> pool,
        List<SpeechSample> test, ValidationOptions options)
    {
        var held = new HashSet<SpeechSample>(ReferenceEqualityComparer.Instance);
        var rng = DeterministicRandom.For(options.Seed, fold);
        switch (options.Strategy)
        {
            case ValidationStrategy.None:
                break;
            case ValidationStrategy.UtteranceFraction:
                // Per speaker: label groups (each shuffled) laid end to end, then every (1/f)-th item from a random
                // offset, so each speaker and each of its labels give up their share to within one utterance.
                foreach (var speaker in pool.GroupBy(s => s.Speaker, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
                {
                    var ordered = new List<SpeechSample>();
                    foreach (var label in speaker.GroupBy(s => s.Label, StringComparer.Ordinal).OrderBy(g => corpus.LabelIndex(g.Key)))
                    {
                        var items = label.ToList();
                        rng.Shuffle(items);
                        ordered.AddRange(items);
                    }
                    var offset = rng.NextDouble();
                    for (var i = 0; i < ordered.Count; i++)
                    {
                        if (Math.Floor((i + 1) * options.Fraction + offset) > Math.Floor(i * options.Fraction + offset))
                            held.Add(ordered[i]);
                    }
                }
                break;
            case ValidationStrategy.HoldOutSpeakers:
                var testSpeakers = test.Select(s => s.Speaker).ToHashSet(StringComparer.Ordinal);
                var candidates = pool.Select(s => s.Speaker).Where(s => !testSpeakers.Contains(s))
                    .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
                if (candidates.Count < options.Speakers)
                    throw new ArgumentException(
                        $"corpus '{corpus.Name}': fold '{fold}' has {candidates.Count} training speaker(s) outside the test fold, too few to hold out {options.Speakers} for validation",
                        nameof(options));
                rng.Shuffle(candidates);
                var chosen = candidates.Take(options.Speakers).ToHashSet(StringComparer.Ordinal);
                foreach (var s in pool)
                {
                    if (chosen.Contains(s.Speaker)) held.Add(s);
                }
                break;
        }
        return held;
    }
}
