namespace Rnn.Fast.IO;

/// <summary>
/// What a model file said beside its weights, and what <see cref="ModelFile"/> had to assume because the file could not
/// say it. Returned by the <c>ModelFile.Load(..., out ModelFileDetails)</c> overloads.
/// </summary>
/// <param name="FileName">The file (or stream name) read.</param>
/// <param name="Format">Its format.</param>
/// <param name="SampleRate">The sample rate the model was trained at, in Hz, when the file names one (a <c>.nam</c> file's
/// <c>sample_rate</c>); null otherwise. Audio at another rate runs, but does not sound like the modelled device.</param>
/// <param name="NonlinearityAssumed">True when the model has Elman (nn.RNN) layers and neither the file
/// (<c>rnnfast.nonlinearity</c> metadata) nor <see cref="ModelLoadOptions.Nonlinearity"/> named their nonlinearity, so
/// tanh, PyTorch's default, was used. A PyTorch state_dict cannot tell tanh from relu.</param>
public sealed record ModelFileDetails(string FileName, ModelFileFormat Format, double? SampleRate, bool NonlinearityAssumed);
