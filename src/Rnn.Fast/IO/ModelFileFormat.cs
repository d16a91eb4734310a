namespace Rnn.Fast.IO;

/// <summary>The model file formats <see cref="ModelFile"/> reads.</summary>
public enum ModelFileFormat
{
    /// <summary><c>.safetensors</c>: PyTorch state-dict tensor names, <c>rnnfast.*</c> metadata.</summary>
    Safetensors,
    /// <summary><c>.nam</c>: Neural Amp Modeler JSON, LSTM architecture.</summary>
    Nam,
    /// <summary><c>.json</c>: <c>{"model_data": {...}, "state_dict": {...}}</c> of guitar-amp training scripts.</summary>
    StateDictJson,
}
