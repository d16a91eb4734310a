namespace Rnn.Fast;

/// <summary>The kind of recurrent cell in a layer.</summary>
public enum CellType
{
    /// <summary>Elman RNN (PyTorch <c>nn.RNN</c>): <c>h' = f(W_ih x + b_ih + W_hh h + b_hh)</c>, one gate.</summary>
    Elman,
    /// <summary>LSTM (PyTorch <c>nn.LSTM</c>): four gates i, f, g, o and a cell state c.</summary>
    Lstm,
}
