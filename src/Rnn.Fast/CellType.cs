namespace Rnn.Fast;

/// <summary>The kind of recurrent cell in a layer.</summary>
public enum CellType
{
    /// <summary>Elman RNN (PyTorch <c>nn.RNN</c>): <c>h' = f(W_ih x + b_ih + W_hh h + b_hh)</c>, one gate.</summary>
    Elman,
    /// <summary>LSTM (PyTorch <c>nn.LSTM</c>): four gates i, f, g, o and a cell state c.</summary>
    Lstm,
    /// <summary>
    /// GRU (PyTorch <c>nn.GRU</c>): gates r, z, n; <c>n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))</c>,
    /// <c>h' = (1 − z) ⊙ n + z ⊙ h</c>.
    /// </summary>
    Gru,
}
