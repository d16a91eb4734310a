// Training with BPTT: the README's "Training" example (the <snippet:training> region is copied there verbatim, and a
// test checks it still matches). CI runs this program; it exits 1 unless the model learns the task.
// <snippet:training>
using Rnn.Fast;
using Rnn.Fast.Training;

// The adding problem: each step brings a value and a marker; the target is the sum of the two marked values,
// and only the last step's output counts (mask).
const int T = 20, B = 32;
var random = new Random(1);
float[] inputs = new float[T * B * 2], targets = new float[T * B], mask = new float[T * B];   // [T, B, 2], [T, B, 1], [T, B]
for (int b = 0; b < B; b++)
{
    mask[(T - 1) * B + b] = 1;
}
void NextBatch()
{
    Array.Clear(inputs);
    for (int b = 0; b < B; b++)
    {
        int first = random.Next(T / 2), second = T / 2 + random.Next(T / 2);
        for (int t = 0; t < T; t++)
        {
            inputs[(t * B + b) * 2] = random.NextSingle();
        }
        inputs[(first * B + b) * 2 + 1] = inputs[(second * B + b) * 2 + 1] = 1;
        targets[(T - 1) * B + b] = inputs[(first * B + b) * 2] + inputs[(second * B + b) * 2];
    }
}

var model = TrainableModel.From(RnnModel.CreateLstm(inputSize: 2, hiddenSize: 32, outputSize: 1, seed: 1));
var trainer = new Trainer(model, new Adam(model, 1e-2f), LossFunction.MeanSquaredError, maxSteps: T, batch: B)
{
    MaxGradientNorm = 1f,                          // clip_grad_norm_ semantics; ClipValue for clip_grad_value_
};
for (int step = 0; step < 400; step++)
{
    NextBatch();
    TrainStepResult r = trainer.Step(inputs, T, targets, mask);   // loss, gradient norm, clipped?, diverged?
    if (r.Diverged)
    {
        break;
    }
}

// The same step by hand: forward with cache, loss (writes dL/dy), backward, clip, optimizer step.
TrainingWorkspace workspace = model.CreateWorkspace(maxSteps: T, batch: B);
float[] dy = new float[T * B * model.OutputSize];
NextBatch();
model.ZeroGradients();
ReadOnlySpan<float> y = model.Forward(inputs, T, workspace);
float loss = Loss.MeanSquaredError(y, targets, mask, model.OutputSize, dy);
model.Backward(dy, workspace);
GradientClipping.ClipByGlobalNorm(model.Parameters, maxNorm: 1f);
trainer.Optimizer.Step();                          // or any Optimizer: new Adam(model), new Sgd(model, 0.1f)

RnnModel trained = model.ToModel();                // immutable, for inference (or ModelFile.SaveSafetensors)
Console.WriteLine($"MSE after training: {loss:F4} (always answering 1 scores 1/6 = 0.1667)");
// </snippet:training>

// The check behind the example: the model learned the task (on batches it has not seen).
NextBatch();
float[] outputs = new float[T * B];
trained.Run(inputs, T, trained.CreateState(B), outputs);
double error = 0;
for (int b = 0; b < B; b++)
{
    double d = outputs[(T - 1) * B + b] - targets[(T - 1) * B + b];
    error += d * d / B;
}
bool ok = error < 0.02 && loss < 0.02;
Console.WriteLine($"{(ok ? "ok  " : "FAIL")} the trained model's MSE on a new batch is {error:F4} (< 0.02 expected)");
return ok ? 0 : 1;
