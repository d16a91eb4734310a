using System.Text;
using System.Text.RegularExpressions;

namespace Rnn.Fast.Tests;

/// <summary>
/// The README's C# is code that CI compiles and runs: every <c>```csharp</c> block in README.md (and in the package's
/// src/Rnn.Fast/PACKAGE.md) follows a line
/// <c>&lt;!-- snippet: NAME --&gt;</c> and equals the region NAME of a program under samples/, marked there with
/// <c>// &lt;snippet:NAME&gt;</c> ... <c>// &lt;/snippet:NAME&gt;</c> (several pieces of one name in a file are
/// joined in order). With <c>RNNFAST_UPDATE_README=1</c> the test copies the regions into the file instead of failing.
/// </summary>
public sealed partial class ReadmeSnippetTests
{
    [GeneratedRegex(@"^<!--\s*snippet:\s*(?<name>[\w-]+)\s*-->\s*$")]
    private static partial Regex ReadmeMarker();

    [GeneratedRegex(@"^\s*//\s*<(?<end>/?)snippet:(?<name>[\w-]+)>\s*$")]
    private static partial Regex SourceMarker();

    [Theory]
    [InlineData("README.md")]
    [InlineData("src/Rnn.Fast/PACKAGE.md")]
    public void Readme_CSharpBlocks_AreSampleRegions(string file)
    {
        string readmePath = Path.Combine(Python.RepositoryRoot, file);
        string[] readme = Normalize(File.ReadAllText(readmePath)).Split('\n');
        Dictionary<string, (string File, string Text)> regions = SampleRegions();

        var problems = new List<string>();
        var updated = new StringBuilder();
        int blocks = 0;
        for (int i = 0; i < readme.Length; i++)
        {
            updated.Append(readme[i]).Append('\n');
            if (readme[i].Trim() != "```csharp")
            {
                continue;
            }
            blocks++;
            int end = Array.FindIndex(readme, i + 1, l => l.TrimEnd() == "```");
            Assert.True(end > i, $"{file} line {i + 1}: a ```csharp block that never closes.");
            string block = string.Join('\n', readme[(i + 1)..end]);
            Match marker = i > 0 ? ReadmeMarker().Match(readme[i - 1]) : Match.Empty;
            if (!marker.Success)
            {
                problems.Add($"{file} line {i + 1}: a ```csharp block without a '<!-- snippet: NAME -->' line before it (C# in the README must come from samples/).");
                updated.Append(block).Append('\n');
            }
            else if (!regions.TryGetValue(marker.Groups["name"].Value, out var region))
            {
                problems.Add($"{file} line {i + 1}: no region '// <snippet:{marker.Groups["name"].Value}>' in samples/.");
                updated.Append(block).Append('\n');
            }
            else
            {
                if (region.Text != block)
                {
                    problems.Add($"{file} line {i + 1}: block '{marker.Groups["name"].Value}' differs from its region in {region.File}{FirstDifference(region.Text, block)}");
                }
                updated.Append(region.Text).Append('\n');
            }
            i = end - 1;
        }
        Assert.True(blocks > 0, $"{file} has no ```csharp block; the test would check nothing.");
        if (problems.Count > 0 && Environment.GetEnvironmentVariable("RNNFAST_UPDATE_README") == "1")
        {
            File.WriteAllText(readmePath, updated.ToString().TrimEnd('\n') + "\n");
            return;
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems) + $"\n(RNNFAST_UPDATE_README=1 copies the regions into {file}.)");
    }

    [Fact]
    public void SampleRegions_AreClosedAndNonEmpty() => Assert.NotEmpty(SampleRegions());

    private static Dictionary<string, (string File, string Text)> SampleRegions()
    {
        var regions = new Dictionary<string, (string File, string Text)>(StringComparer.Ordinal);
        string samples = Path.Combine(Python.RepositoryRoot, "samples");
        foreach (string file in Directory.EnumerateFiles(samples, "*.cs", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            string relative = Path.GetRelativePath(Python.RepositoryRoot, file).Replace('\\', '/');
            if (relative.Contains("/obj/", StringComparison.Ordinal) || relative.Contains("/bin/", StringComparison.Ordinal))
            {
                continue;
            }
            var pieces = new Dictionary<string, List<string>>(StringComparer.Ordinal);
            string? open = null;
            string[] lines = Normalize(File.ReadAllText(file)).Split('\n');
            for (int i = 0; i < lines.Length; i++)
            {
                Match m = SourceMarker().Match(lines[i]);
                if (!m.Success)
                {
                    if (open is not null)
                    {
                        pieces[open].Add(lines[i]);
                    }
                    continue;
                }
                string name = m.Groups["name"].Value;
                bool end = m.Groups["end"].Value == "/";
                Assert.True(end ? open == name : open is null, $"{relative} line {i + 1}: snippet markers must open and close in pairs, not nested.");
                if (!end && !pieces.ContainsKey(name))
                {
                    Assert.False(regions.ContainsKey(name), $"Region '{name}' is in both {regions.GetValueOrDefault(name).File} and {relative}.");
                    pieces[name] = [];
                }
                open = end ? null : name;
            }
            Assert.True(open is null, $"{relative}: region '{open}' is never closed.");
            foreach ((string name, List<string> text) in pieces)
            {
                Assert.True(text.Count > 0, $"{relative}: region '{name}' is empty.");
                regions[name] = (relative, string.Join('\n', text));
            }
        }
        return regions;
    }

    private static string Normalize(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal);

    private static string FirstDifference(string expected, string actual)
    {
        string[] e = expected.Split('\n'), a = actual.Split('\n');
        for (int i = 0; i < Math.Max(e.Length, a.Length); i++)
        {
            string el = i < e.Length ? e[i] : "<end>", al = i < a.Length ? a[i] : "<end>";
            if (el != al)
            {
                return $" at its line {i + 1}:\n  sample: {el}\n  README: {al}";
            }
        }
        return ".";
    }
}
