using System.Text.Json;
using Rnn.Fast.Cli;
using Rnn.Fast.IO;

namespace Rnn.Fast.Tests.IO;

/// <summary>The Neural Amp Modeler example model against plain loops written from the format description alone.</summary>
public sealed class NamFileTests
{
    private static readonly string s_namPath = TestFiles.Fixture("nam-lstm-example.nam");

    [Fact]
    public void Load_Example_HasLayoutOfConfig()
    {
        RnnModel model = ModelFile.Load(s_namPath);
        Assert.Single(model.Layers);
        Assert.Equal(CellType.Lstm, model.Layers[0].Cell);
        Assert.Equal(1, model.InputSize);
        Assert.Equal(3, model.Layers[0].HiddenSize);
        Assert.Equal(1, model.OutputSize);
        Assert.NotNull(model.Options.InitialHidden);
        Assert.NotNull(model.Options.InitialCell);
    }

    [Fact]
    public void Run_ExampleOnGuitarRecording_MatchesHandComputedLstm()
    {
        RnnModel model = ModelFile.Load(s_namPath);
        Signal audio = WavFile.Read(TestFiles.Fixture("nam-input.wav"));
        int steps = 4000;
        float[] input = audio.Data.AsSpan(0, steps).ToArray();
        var output = new float[steps];
        model.Run(input, steps, model.CreateState(), output);

        double[] expected = HandComputed(File.ReadAllText(s_namPath), input);
        for (int t = 0; t < steps; t++)
        {
            Assert.True(Math.Abs(output[t] - expected[t]) <= 1e-5 + 1e-5 * Math.Abs(expected[t]),
                $"step {t}: {output[t]} vs hand-computed {expected[t]}");
        }
    }

    [Fact]
    public void StepAndRun_WholeGuitarRecording_AgreeAndStayFinite()
    {
        RnnModel model = ModelFile.Load(s_namPath);
        Signal audio = WavFile.Read(TestFiles.Fixture("nam-input.wav"));
        Assert.Equal(1, audio.Channels);
        Assert.Equal(48000, audio.Wav!.SampleRate);
        Assert.Equal(24, audio.Wav.BitsPerSample);

        var run = new float[audio.Steps];
        model.Run(audio.Data, audio.Steps, model.CreateState(), run);
        RnnState state = model.CreateState();
        var y = new float[1];
        double peak = 0;
        for (int t = 0; t < audio.Steps; t++)
        {
            model.Step(audio.Data.AsSpan(t, 1), state, y);
            Assert.True(float.IsFinite(y[0]) && float.IsFinite(run[t]), $"step {t}: {y[0]} / {run[t]}");
            Assert.True(Math.Abs(y[0] - run[t]) <= 1e-5 + 1e-5 * Math.Abs(run[t]), $"step {t}: Step {y[0]} vs Run {run[t]}");
            peak = Math.Max(peak, Math.Abs(run[t]));
        }
        Assert.True(peak > 1e-3, "The model should respond to the guitar, not output silence.");
    }

    /// <summary>
    /// The .nam LSTM straight from the format description (flat array: per layer W [4H, in + H] over [x, h], b, h0, c0;
    /// then the head), in double precision, parsing the JSON independently of the library.
    /// </summary>
    private static double[] HandComputed(string json, float[] input)
    {
        using JsonDocument document = JsonDocument.Parse(json);
        JsonElement config = document.RootElement.GetProperty("config");
        int inputSize = config.GetProperty("input_size").GetInt32();
        int hidden = config.GetProperty("hidden_size").GetInt32();
        int layers = config.GetProperty("num_layers").GetInt32();
        double[] w = [.. document.RootElement.GetProperty("weights").EnumerateArray().Select(e => e.GetDouble())];
        int p = 0;
        var weights = new double[layers][];
        var biases = new double[layers][];
        var h = new double[layers][];
        var c = new double[layers][];
        for (int l = 0; l < layers; l++)
        {
            int width = (l == 0 ? inputSize : hidden) + hidden;
            weights[l] = w[p..(p += 4 * hidden * width)];
            biases[l] = w[p..(p += 4 * hidden)];
            h[l] = w[p..(p += hidden)];
            c[l] = w[p..(p += hidden)];
        }
        double[] headWeight = w[p..(p += hidden)];
        double headBias = w[p++];
        Assert.Equal(w.Length, p);

        var output = new double[input.Length];
        for (int t = 0; t < input.Length; t++)
        {
            double[] x = [input[t]];
            for (int l = 0; l < layers; l++)
            {
                double[] xh = [.. x, .. h[l]];
                var gates = new double[4 * hidden];
                for (int r = 0; r < gates.Length; r++)
                {
                    double sum = biases[l][r];
                    for (int j = 0; j < xh.Length; j++)
                    {
                        sum += weights[l][r * xh.Length + j] * xh[j];
                    }
                    gates[r] = sum;
                }
                for (int j = 0; j < hidden; j++)
                {
                    double i = 1 / (1 + Math.Exp(-gates[j]));
                    double f = 1 / (1 + Math.Exp(-gates[hidden + j]));
                    double g = Math.Tanh(gates[2 * hidden + j]);
                    double o = 1 / (1 + Math.Exp(-gates[3 * hidden + j]));
                    c[l][j] = f * c[l][j] + i * g;
                    h[l][j] = o * Math.Tanh(c[l][j]);
                }
                x = h[l];
            }
            double y = headBias;
            for (int j = 0; j < hidden; j++)
            {
                y += headWeight[j] * x[j];
            }
            output[t] = y;
        }
        return output;
    }
}
