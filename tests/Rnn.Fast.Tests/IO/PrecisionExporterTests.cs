using Rnn.Fast.Internals;
using Rnn.Fast.IO;

namespace Rnn.Fast.Tests.IO;

/// <summary>
/// tools/export/rnnfast_export.py with <c>precision="bf16"</c> / <c>"int8"</c> quantizes exactly as Rnn.Fast does
/// (<see cref="WeightQuantization"/>): the files it writes load as the same bf16 / int8 model, bit for bit, as
/// <see cref="RnnModel.WithPrecision(WeightPrecision)"/> of the float32 model.
/// </summary>
public sealed class PrecisionExporterTests
{
    // Reads a float32 file Rnn.Fast saved and writes it again through export_state_dict at each precision.
    private const string Reexport = """
        import json, struct, rnnfast_export as e
        raw = open('f32.safetensors', 'rb').read()
        n = struct.unpack('<Q', raw[:8])[0]
        header = json.loads(raw[8:8 + n])
        meta = header.pop('__metadata__')
        data = raw[8 + n:]
        tensors = {}
        for name, entry in header.items():
            b, end = entry['data_offsets']
            tensors[name] = (entry['shape'], list(struct.unpack('<%df' % ((end - b) // 4), data[b:end])))
        names = meta['rnnfast.nonlinearity'].split(',')
        for precision in ['bf16', 'int8']:
            e.export_state_dict(tensors, precision + '.safetensors', nonlinearity=names, layers=len(names),
                                head_activation=meta.get('rnnfast.head_activation', 'identity'),
                                skip=int(meta.get('rnnfast.skip', '0')), precision=precision)
        """;

    [Theory]
    [MemberData(nameof(SafetensorsTests.RoundTripModels), MemberType = typeof(SafetensorsTests))]
    public void ExportStateDict_Reduced_LoadsAsRnnFastsOwnQuantization(string kind)
    {
        // The python3 on PATH: no torch, and (on CI) possibly no numpy: the pure-Python path of the quantizer.
        CheckReexport(kind, Python.Plain);
    }

    /// <summary>The numpy path of the quantizer (Debian's python3 with torch has numpy).</summary>
    [TorchFact]
    public void ExportStateDict_ReducedWithNumpy_LoadsAsRnnFastsOwnQuantization()
    {
        foreach (string kind in SafetensorsTests.RoundTripModels)
        {
            CheckReexport(kind, Python.WithTorch!);
        }
    }

    private static void CheckReexport(string kind, string python)
    {
        string directory = TestFiles.TempDirectory();
        try
        {
            RnnModel model = SafetensorsTests.Model(kind);
            ModelFile.SaveSafetensors(model, Path.Combine(directory, "f32.safetensors"));
            Python.Run(python, Reexport, directory);
            foreach (WeightPrecision precision in new[] { WeightPrecision.BFloat16, WeightPrecision.Int8 })
            {
                string name = precision == WeightPrecision.Int8 ? "int8" : "bf16";
                RnnModel loaded = ModelFile.Load(Path.Combine(directory, name + ".safetensors"));
                AssertSameReducedModel(model.WithPrecision(precision), loaded);
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    internal static void AssertSameReducedModel(RnnModel expected, RnnModel loaded)
    {
        Assert.Equal(expected.Precision, loaded.Precision);
        SafetensorsTests.AssertSameModel(expected, loaded);
        if (expected.Precision == WeightPrecision.Int8)
        {
            Int8Weights e = expected.Network.Int8Source()!, a = loaded.Network.Int8Source()!;
            Int8Matrix[] all(Int8Weights w) => [.. w.Ih, .. w.Hh, .. w.ReverseIh ?? [], .. w.ReverseHh ?? [], .. w.Head is null ? [] : new[] { w.Head }];
            Assert.Equal(all(e).Length, all(a).Length);
            foreach ((Int8Matrix x, Int8Matrix y) in all(e).Zip(all(a)))
            {
                Assert.Equal(x.Values, y.Values);
                Assert.Equal(x.Scales, y.Scales);
            }
        }
    }

    /// <summary>PyTorch modules exported with <c>export(..., precision=...)</c>: the same models as Rnn.Fast's quantization of the float32 export.</summary>
    [TorchFact]
    public void Export_PyTorchModulesReduced_SameAsRnnFastsQuantization()
    {
        string directory = TestFiles.TempDirectory();
        try
        {
            Python.Run(Python.WithTorch!, """
                import torch, torch.nn as nn
                from rnnfast_export import export, main
                torch.manual_seed(5)
                class Net(nn.Module):
                    def __init__(self, rnn, width):
                        super().__init__()
                        self.rnn = rnn
                        self.head = nn.Linear(width, 2)
                nets = {'lstm': Net(nn.LSTM(3, 6, num_layers=2), 6), 'gru': Net(nn.GRU(3, 5, bidirectional=True), 10),
                        'rnn': Net(nn.RNN(2, 4, nonlinearity='relu'), 4)}
                for name, net in nets.items():
                    export(net, name + '.f32.safetensors')
                    export(net, name + '.bf16.safetensors', precision='bf16')
                    export(net, name + '.int8.safetensors', precision='int8')
                # From the command line: a bf16 module's state_dict (biases bf16 too), as float32 and reduced.
                torch.save(nets['lstm'].to(torch.bfloat16).state_dict(), 'sd.pt')
                main(['sd.pt', 'sd.f32.safetensors'])
                main(['sd.pt', 'sd.bf16.safetensors', '--precision', 'bf16'])
                main(['sd.pt', 'sd.int8.safetensors', '--precision', 'int8'])
                """, directory);
            foreach (string name in new[] { "lstm", "gru", "rnn" })
            {
                RnnModel float32 = ModelFile.Load(Path.Combine(directory, name + ".f32.safetensors"));
                AssertSameReducedModel(float32.WithPrecision(WeightPrecision.BFloat16), ModelFile.Load(Path.Combine(directory, name + ".bf16.safetensors")));
                AssertSameReducedModel(float32.WithPrecision(WeightPrecision.Int8), ModelFile.Load(Path.Combine(directory, name + ".int8.safetensors")));
            }
            RnnModel state = ModelFile.Load(Path.Combine(directory, "sd.f32.safetensors"));
            RnnModel bf16 = ModelFile.Load(Path.Combine(directory, "sd.bf16.safetensors"));
            AssertSameReducedModel(state.WithPrecision(WeightPrecision.BFloat16), bf16);
            // The bf16 module's matrices are the float32 module's, rounded: the same bits either way.
            RnnModel lstm = ModelFile.Load(Path.Combine(directory, "lstm.f32.safetensors"));
            Assert.Equal(lstm.WithPrecision(WeightPrecision.BFloat16).Layers[1].WeightHh.ToArray(), bf16.Layers[1].WeightHh.ToArray());
            AssertSameReducedModel(state.WithPrecision(WeightPrecision.Int8), ModelFile.Load(Path.Combine(directory, "sd.int8.safetensors")));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
