using Microsoft.Playwright;
using Xunit.Abstractions;

namespace SerMtl.Web.Tests;

/// <summary>A fact that needs Debian's chromium (<c>.ci/run</c> installs it); skipped, saying so, where it is missing.</summary>
public sealed class FactRequiresChromiumAttribute : FactAttribute
{
    public const string Chromium = "/usr/bin/chromium";

    public FactRequiresChromiumAttribute()
    {
        if (!File.Exists(Chromium)) Skip = $"needs {Chromium} (apt-get install chromium; .ci/run installs it)";
    }
}

/// <summary>
/// The web page in a real browser: Debian's chromium, headless, driven by Playwright, its microphone a fake device that
/// plays a WAV; the test records, stops and reads what the page shows; then it uploads a file.
/// </summary>
public sealed class BrowserTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sermtl-browser-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [FactRequiresChromium]
    public async Task Page_RecordsTheFakeMicrophoneAndAFile_AndShowsEmotionProbabilitiesTranscriptAndTimeline()
    {
        var speech = Path.Combine(_dir, "speech.wav");
        var pause = new float[8000];
        TestAudio.WriteWav(speech, TestAudio.Speechlike(1.0, seed: 4).Concat(pause).Concat(TestAudio.Speechlike(1.0, seed: 5)).Concat(pause).ToArray());
        using var service = new WebServiceProcess();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = FactRequiresChromiumAttribute.Chromium,
            Headless = true,
            Args = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", $"--use-file-for-fake-audio-capture={speech}", "--no-sandbox"],
        });
        var page = await browser.NewPageAsync();
        await page.GotoAsync(service.BaseAddress.ToString());
        await page.ClickAsync("#record");
        await page.WaitForFunctionAsync("document.getElementById('status').textContent.startsWith('Recording')");
        await page.WaitForTimeoutAsync(3000);
        await page.ClickAsync("#stop");
        await page.WaitForSelectorAsync("#result:not([hidden])", new PageWaitForSelectorOptions { Timeout = 30_000 });

        var label = await page.TextContentAsync("#label");
        Assert.Contains(label, SavedModelFixture.Labels);
        var bars = await page.Locator("#probabilities li").AllTextContentsAsync();
        Assert.Equal(SavedModelFixture.Labels.Length, bars.Count);
        Assert.All(SavedModelFixture.Labels, l => Assert.Contains(bars, b => b.StartsWith(l, StringComparison.Ordinal)));
        Assert.True(await page.Locator("#timeline tbody tr").CountAsync() >= 1, "no timeline row");
        var status = await page.TextContentAsync("#status");
        Assert.Contains("recording:", status, StringComparison.Ordinal);
        output.WriteLine($"recorded: {label}; {status}; bars {string.Join(" | ", bars)}");
        var screenshot = Path.Combine(Environment.GetEnvironmentVariable("SERMTL_SCREENSHOT_DIR") ?? _dir, "webservice.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
        output.WriteLine($"screenshot: {screenshot}");

        // A file chosen in the page gives what the API gives for it.
        await page.SetInputFilesAsync("#file", speech);
        await page.WaitForFunctionAsync("document.getElementById('status').textContent.startsWith('speech.wav:')", null, new PageWaitForFunctionOptions { Timeout = 30_000 });
        using var http = service.Client();
        using var content = new ByteArrayContent(await File.ReadAllBytesAsync(speech));
        using var answer = await http.PostAsync("/api/emotion", content);
        using var json = System.Text.Json.JsonDocument.Parse(await answer.Content.ReadAsStringAsync());
        Assert.Equal(json.RootElement.GetProperty("label").GetString(), await page.TextContentAsync("#label"));
        Assert.Equal(json.RootElement.GetProperty("transcript").GetString(), await page.TextContentAsync("#transcript"));
    }
}
