using Rnn.Fast.Internals;

namespace Rnn.Fast;

public sealed partial class RnnModel
{
    /// <summary>A seeded LSTM stack with PyTorch's default initialisation.</summary>
    /// <param name="inputSize">I.</param>
    /// <param name="hiddenSize">H of every layer.</param>
    /// <param name="layers">Number of stacked layers.</param>
    /// <param name="outputSize">O of a dense head; 0 for no head.</param>
    /// <param name="headActivation">g of the head.</param>
    /// <param name="seed">Seed of the weights.</param>
    /// <param name="kernel">Kernel name; null for the default.</param>
    public static RnnModel CreateLstm(int inputSize, int hiddenSize, int layers = 1, int outputSize = 0,
        Activation headActivation = Activation.Identity, int seed = 0, string? kernel = null) =>
        CreateRandom(CellType.Lstm, Activation.Tanh, inputSize, hiddenSize, layers, outputSize, headActivation, seed, kernel);

    /// <summary>A seeded GRU stack with PyTorch's default initialisation.</summary>
    /// <param name="inputSize">I.</param>
    /// <param name="hiddenSize">H of every layer.</param>
    /// <param name="layers">Number of stacked layers.</param>
    /// <param name="outputSize">O of a dense head; 0 for no head.</param>
    /// <param name="headActivation">g of the head.</param>
    /// <param name="seed">Seed of the weights.</param>
    /// <param name="kernel">Kernel name; null for the default.</param>
    public static RnnModel CreateGru(int inputSize, int hiddenSize, int layers = 1, int outputSize = 0,
        Activation headActivation = Activation.Identity, int seed = 0, string? kernel = null) =>
        CreateRandom(CellType.Gru, Activation.Tanh, inputSize, hiddenSize, layers, outputSize, headActivation, seed, kernel);

    /// <summary>A seeded Elman RNN stack with PyTorch's default initialisation.</summary>
    /// <param name="inputSize">I.</param>
    /// <param name="hiddenSize">H of every layer.</param>
    /// <param name="nonlinearity">f: tanh, ReLU or sigmoid.</param>
    /// <param name="layers">Number of stacked layers.</param>
    /// <param name="outputSize">O of a dense head; 0 for no head.</param>
    /// <param name="headActivation">g of the head.</param>
    /// <param name="seed">Seed of the weights.</param>
    /// <param name="kernel">Kernel name; null for the default.</param>
    public static RnnModel CreateElman(int inputSize, int hiddenSize, Activation nonlinearity = Activation.Tanh, int layers = 1,
        int outputSize = 0, Activation headActivation = Activation.Identity, int seed = 0, string? kernel = null) =>
        CreateRandom(CellType.Elman, nonlinearity, inputSize, hiddenSize, layers, outputSize, headActivation, seed, kernel);

    private static RnnModel CreateRandom(CellType cell, Activation nonlinearity, int inputSize, int hiddenSize, int layers,
        int outputSize, Activation headActivation, int seed, string? kernel)
    {
        Guard.Positive(layers, nameof(layers));
        Guard.NonNegative(outputSize, nameof(outputSize));
        var random = new Random(seed);
        var list = new LayerWeights[layers];
        for (int l = 0; l < layers; l++)
        {
            list[l] = LayerWeights.Random(cell, l == 0 ? inputSize : hiddenSize, hiddenSize, random, nonlinearity);
        }
        HeadWeights? head = outputSize > 0 ? HeadWeights.Random(hiddenSize, outputSize, random, headActivation) : null;
        return Create(list, head, kernel);
    }
}
