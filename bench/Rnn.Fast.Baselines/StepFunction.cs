namespace Rnn.Fast.Baselines;

/// <summary>One step of some implementation: <c>x [I]</c> in, <c>y [O]</c> out, state kept inside.</summary>
public delegate void StepFunction(ReadOnlySpan<float> x, Span<float> y);
