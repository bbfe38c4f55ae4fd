namespace SerMtl.Data.Protocols;

/// <summary>The cross-validation protocols used with IEMOCAP (see <see cref="Folds.Iemocap"/>).</summary>
public enum IemocapProtocol
{
    /// <summary>
    /// The release's own 10 folds, as in Cai et al. (2021): fold <c>SesNNF</c> tests on every utterance of the
    /// dialogs whose name starts with <c>SesNNF</c>, and likewise <c>SesNNM</c>. The letter in a dialog name only
    /// says which actor wore the motion-capture markers; <b>both</b> actors of the session speak in every dialog.
    /// So each test fold shares both its speakers with the training set (they speak in the session's other
    /// dialogs), which makes these folds speaker-<em>dependent</em> and their scores higher than those of truly
    /// speaker-independent folds (<see cref="Speaker"/>, <see cref="Session"/>). Compare numbers only within one
    /// protocol.
    /// </summary>
    Paper,

    /// <summary>10 folds, leave one true speaker out: fold <c>Ses01M</c> tests on every utterance spoken by the
    /// male actor of Session 1 (the gender letter of the utterance id's last segment), across all dialogs.</summary>
    Speaker,

    /// <summary>5 folds, leave one session out (<c>Session1</c>…<c>Session5</c>): both of the session's actors are
    /// unseen in training. The SUPERB / emotion2vec protocol.</summary>
    Session,
}
