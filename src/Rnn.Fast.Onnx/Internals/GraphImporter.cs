using System.Collections.Immutable;
using Google.Protobuf;
using Onnx;
using Rnn.Fast.IO;

namespace Rnn.Fast.Onnx.Internals;

/// <summary>
/// Reads an ONNX graph by evaluating it abstractly, node by node in file order: constants are folded, the shape
/// arithmetic torch emits for zero initial states stays symbolic (<see cref="DimsValue"/>, <see cref="BroadcastValue"/>),
/// and the sequence (<see cref="SeqValue"/>) carries the model built so far through the recurrent nodes, layout
/// nodes and the head. Anything the model cannot express is refused, naming the node and its operator.
/// </summary>
internal sealed partial class GraphImporter
{
    private const int MinOpset = 7;
    private const int MaxOpset = 23;

    private readonly string _file;
    private readonly Dictionary<string, Value> _values = new(StringComparer.Ordinal);
    private readonly List<string> _stateInputs = [];
    private long _opset;
    private long _declaredP0 = -1;
    private long _declaredP1 = -1;
    private SeqAxis? _timeAxis;

    // Elements that constant folding may still produce. Real exports fold slices of their weights, a fraction of the
    // file; a graph that folds far more than its own size (Concat doubling, Gather repeating) is refused early.
    private long _foldBudget;

    private GraphImporter(string file, long fileBytes)
    {
        _file = file;
        _foldBudget = fileBytes + (1 << 20);
    }

    public static OnnxImport Import(byte[] bytes, string file, ModelLoadOptions? options)
    {
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new ModelFormatException(file, null, $"Not a valid ONNX file (protobuf): {e.Message}", e);
        }
        return new GraphImporter(file, bytes.Length).Run(model, options);
    }

    private ModelFormatException Fail(string? what, string problem, Exception? inner = null) => new(_file, what, problem, inner);

    private OnnxImport Run(ModelProto model, ModelLoadOptions? options)
    {
        OperatorSetIdProto? opset = model.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx");
        if (opset is null)
        {
            throw Fail("opset_import", "The file declares no default-domain (ai.onnx) opset.");
        }
        _opset = opset.Version;
        if (_opset < MinOpset || _opset > MaxOpset)
        {
            throw Fail("opset_import", $"Opset {_opset} is not supported (opsets {MinOpset}..{MaxOpset} are; 11, 14 and 17 are tested).");
        }
        GraphProto graph = model.Graph ?? throw Fail("graph", "The file has no graph.");
        if (graph.SparseInitializer.Count > 0)
        {
            throw Fail(graph.SparseInitializer[0].Values?.Name ?? "sparse_initializer", "Sparse initializers are not supported.");
        }
        foreach (TensorProto initializer in graph.Initializer)
        {
            string name = initializer.Name;
            if (name.Length == 0 || _values.ContainsKey(name))
            {
                throw Fail(name.Length == 0 ? "initializer" : name, "An initializer has no name or a name used twice.");
            }
            _values[name] = new ConstValue(TensorDecoder.Decode(initializer, problem => Fail(name, problem)));
        }

        string? inputName = null;
        foreach (ValueInfoProto input in graph.Input)
        {
            if (_values.ContainsKey(input.Name))
            {
                continue; // IR < 4 lists initializers among the inputs too
            }
            if (input.Name.Length == 0)
            {
                throw Fail("input", "A graph input has no name.");
            }
            if (inputName is null)
            {
                inputName = input.Name;
                _values[input.Name] = SequenceInput(input);
            }
            else
            {
                _stateInputs.Add(input.Name);
                _values[input.Name] = new RuntimeValue(input.Name);
            }
        }
        if (inputName is null)
        {
            throw Fail("input", "The graph has no input (the sequence).");
        }

        for (int n = 0; n < graph.Node.Count; n++)
        {
            NodeProto node = graph.Node[n];
            string label = $"{(node.Name.Length > 0 ? node.Name : $"node #{n}")} ({node.OpType})";
            try
            {
                Value[] results = Evaluate(node);
                if (node.Output.Count > results.Length)
                {
                    throw new NodeProblem($"The node has {node.Output.Count} outputs; at most {results.Length} expected.");
                }
                for (int k = 0; k < node.Output.Count; k++)
                {
                    string output = node.Output[k];
                    if (output.Length == 0)
                    {
                        continue;
                    }
                    if (_values.ContainsKey(output))
                    {
                        throw new NodeProblem($"Output '{output}' is already defined.");
                    }
                    if (results[k] is ConstValue folded)
                    {
                        _foldBudget -= folded.Tensor.Count;
                        if (_foldBudget < 0)
                        {
                            throw new NodeProblem("Constant folding produces far more data than the file holds; refusing the graph.");
                        }
                    }
                    _values[output] = results[k];
                }
            }
            catch (NodeProblem e)
            {
                throw Fail(label, e.Message);
            }
            catch (ArgumentException e)
            {
                throw Fail(label, $"The weights do not make a valid layer: {e.Message}", e);
            }
        }

        if (graph.Output.Count == 0)
        {
            throw Fail("output", "The graph has no output.");
        }
        string outputName = graph.Output[0].Name;
        if (!_values.TryGetValue(outputName, out Value? result) || result is not SeqValue seq)
        {
            throw Fail(outputName, "The graph's first output is not the sequence that the recurrent layers compute.");
        }
        if (seq.Chain.Layers.Count == 0)
        {
            throw Fail(outputName, "The graph has no recurrent (LSTM, GRU or RNN) node.");
        }
        if (seq.Axes is not [SeqAxis.P0, SeqAxis.P1, SeqAxis.Feature])
        {
            throw Fail(outputName, $"The output's axes [{string.Join(", ", seq.Axes)}] are not the input's [steps/batch, batch/steps, features] layout.");
        }
        return new OnnxImport(Build(seq, options), inputName, outputName, _timeAxis == SeqAxis.P1, _stateInputs,
            [.. graph.Output.Skip(1).Select(o => o.Name)], _opset, $"{model.ProducerName} {model.ProducerVersion}".Trim());
    }

    private SeqValue SequenceInput(ValueInfoProto input)
    {
        TypeProto.Types.Tensor? tensor = input.Type?.TensorType;
        if (tensor is null || tensor.ElemType is not (1 or 10 or 11 or 16))
        {
            throw Fail(input.Name, "The sequence input is not a float tensor.");
        }
        if (tensor.Shape is null || tensor.Shape.Dim.Count != 3)
        {
            throw Fail(input.Name, "The sequence input must have 3 dimensions ([steps, batch, features] or [batch, steps, features]).");
        }
        long Declared(int k) => tensor.Shape.Dim[k].HasDimValue && tensor.Shape.Dim[k].DimValue > 0 ? tensor.Shape.Dim[k].DimValue : -1;
        _declaredP0 = Declared(0);
        _declaredP1 = Declared(1);
        long features = Declared(2);
        if (features < 1 || features > Folding.MaxElements)
        {
            throw Fail(input.Name, "The sequence input's feature size (last dimension) is not a fixed positive number.");
        }
        return new SeqValue([SeqAxis.P0, SeqAxis.P1, SeqAxis.Feature], (int)features, Chain.Empty);
    }

    private RnnModel Build(SeqValue seq, ModelLoadOptions? options)
    {
        Chain chain = seq.Chain;
        try
        {
            HeadWeights? head = chain.HeadWeight is { } weight
                ? new HeadWeights(chain.HeadInputs, chain.HeadOutputs, weight, chain.HeadBias ?? [], chain.HeadActivation ?? Activation.Identity)
                : null;
            var modelOptions = new RnnModelOptions
            {
                ReverseLayers = chain.Directions == 2 ? chain.Reverse : null,
                InitialHidden = chain.InitialHidden.Any(h => h is not null) ? chain.InitialHidden : null,
                InitialCell = chain.InitialCell.Any(c => c is not null) ? chain.InitialCell : null,
            };
            return RnnModel.Create(chain.Layers, head, options?.Kernel, modelOptions);
        }
        catch (ArgumentException e)
        {
            throw Fail(null, $"The weights do not make a valid model: {e.Message}", e);
        }
    }
}
