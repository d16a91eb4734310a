namespace Rnn.Fast.IO;

/// <summary>
/// A model file is malformed, truncated, inconsistent or unsupported. The message names the file, the tensor
/// (or field) concerned, and the problem; <see cref="FileName"/> and <see cref="TensorName"/> carry them separately.
/// </summary>
/// <remarks>
/// Every problem with the content of a file read by <see cref="ModelFile"/> is reported with this type (argument
/// checks of the model API, such as a non-finite weight, are wrapped as the inner exception), so callers can treat
/// files from elsewhere as untrusted input with one <c>catch</c>. I/O errors (missing file, no permission) are not
/// wrapped: they are <see cref="IOException"/>s as usual.
/// </remarks>
public class ModelFormatException : Exception
{
    /// <summary>Creates an exception for a problem in <paramref name="fileName"/>, at <paramref name="tensorName"/> if known.</summary>
    /// <param name="fileName">The file (or stream name) being read.</param>
    /// <param name="tensorName">The tensor, field or header entry concerned; null for the file as a whole.</param>
    /// <param name="problem">What is wrong, as a sentence.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public ModelFormatException(string fileName, string? tensorName, string problem, Exception? innerException = null)
        : base(Format(fileName, tensorName, problem), innerException)
    {
        FileName = fileName;
        TensorName = tensorName;
        Problem = problem;
    }

    /// <summary>The file (or stream name) being read.</summary>
    public string FileName { get; }

    /// <summary>The tensor, field or header entry concerned; null when the problem is with the file as a whole.</summary>
    public string? TensorName { get; }

    /// <summary>What is wrong, without the file and tensor names.</summary>
    public string Problem { get; }

    private static string Format(string fileName, string? tensorName, string problem) =>
        tensorName is null ? $"{fileName}: {problem}" : $"{fileName}: '{tensorName}': {problem}";
}
