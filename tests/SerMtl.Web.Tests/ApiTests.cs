using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using SerMtl.Inference;

namespace SerMtl.Web.Tests;

/// <summary>A service with a 256 KiB upload limit, for the API tests.</summary>
public sealed class SmallUploadService() : IDisposable
{
    public WebServiceProcess Service { get; } = new("--Service:MaxUploadBytes=262144");

    public void Dispose() => Service.Dispose();
}

/// <summary>The HTTP API of samples/WebService: answers, errors and limits; the service stays up through bad input.</summary>
public sealed class ApiTests(SmallUploadService fixture) : IClassFixture<SmallUploadService>
{
    private static readonly string Wav = Path.Combine(TestPaths.TinyGroup, "a.wav");
    private WebServiceProcess Service => fixture.Service;

    private static ByteArrayContent WavBody(byte[] bytes, string type = "audio/wav")
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue(type);
        return content;
    }

    [Fact]
    public async Task PostEmotion_RawBodyAndForm_AnswerWhatTheRecognizerGives()
    {
        using var http = Service.Client();
        EmotionPrediction expected;
        using (var recognizer = OnnxEmotionRecognizer.Load(Service.Model)) expected = recognizer.Predict(Wav);
        var bytes = await File.ReadAllBytesAsync(Wav);

        using var raw = await http.PostAsync("/api/emotion", WavBody(bytes));
        using var form = new MultipartFormDataContent { { WavBody(bytes), "audio", "a.wav" } };
        using var multipart = await http.PostAsync("/api/emotion", form);
        foreach (var response in new[] { raw, multipart })
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            var root = json.RootElement;
            Assert.Equal(expected.Label, root.GetProperty("label").GetString());
            Assert.Equal(expected.Transcript, root.GetProperty("transcript").GetString());
            foreach (var p in root.GetProperty("probabilities").EnumerateObject())
                Assert.Equal(expected.Probabilities[p.Name], p.Value.GetSingle(), 1e-6f);
        }

        using var timeline = await http.PostAsync("/api/emotion/timeline", WavBody(bytes));
        Assert.Equal(HttpStatusCode.OK, timeline.StatusCode);
        using var doc = JsonDocument.Parse(await timeline.Content.ReadAsStringAsync());
        Assert.True(doc.RootElement.GetProperty("segments").GetArrayLength() >= 1);
    }

    [Fact]
    public async Task BadUploads_Get4xxWithAClearMessage_AndTheServiceStaysUp()
    {
        using var http = Service.Client();
        var good = await File.ReadAllBytesAsync(Wav);

        var notAudio = await Problem(await http.PostAsync("/api/emotion", WavBody("this is not a WAV file at all, just text"u8.ToArray(), "application/octet-stream")));
        Assert.Equal(400, notAudio.Status);
        Assert.Contains("RIFF", notAudio.Detail, StringComparison.OrdinalIgnoreCase);

        // A data chunk that claims 2 GB: read as far as it goes (a truncated upload looks the same), nothing of that size
        // allocated, and the answer says so.
        var lying = (byte[])good.Clone();
        BitConverter.GetBytes(int.MaxValue).CopyTo(lying, 40);
        using (var lie = await http.PostAsync("/api/emotion", WavBody(lying)))
        {
            Assert.Equal(HttpStatusCode.OK, lie.StatusCode);
            Assert.Contains("truncated", await lie.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        // A format header that lies (0 channels, an absurd rate): refused, naming the field.
        var noChannels = (byte[])good.Clone();
        BitConverter.GetBytes((short)0).CopyTo(noChannels, 22);
        Assert.Equal(400, (await Problem(await http.PostAsync("/api/emotion", WavBody(noChannels)))).Status);
        var absurdRate = (byte[])good.Clone();
        BitConverter.GetBytes(int.MaxValue).CopyTo(absurdRate, 24);
        var rate = await Problem(await http.PostAsync("/api/emotion", WavBody(absurdRate)));
        Assert.Equal(400, rate.Status);
        Assert.False(string.IsNullOrWhiteSpace(rate.Detail));

        var tooShort = await Problem(await http.PostAsync("/api/emotion", WavBody(good[..100])));
        Assert.Equal(400, tooShort.Status);

        // Over the limit: refused before the body is read (a client that does not wait with Expect: 100-continue may see
        // the connection closed after the 413, as Kestrel stops reading).
        var huge = new byte[300_000];
        good.CopyTo(huge, 0);
        using var oversized = new HttpRequestMessage(HttpMethod.Post, "/api/emotion") { Content = WavBody(huge) };
        oversized.Headers.ExpectContinue = true;
        var tooLarge = await Problem(await http.SendAsync(oversized));
        Assert.Equal(413, tooLarge.Status);
        Assert.Contains("limit", tooLarge.Detail, StringComparison.Ordinal);

        var empty = await Problem(await http.PostAsync("/api/emotion", new MultipartFormDataContent { { new StringContent("x"), "note" } }));
        Assert.Equal(400, empty.Status);

        Assert.False(Service.HasExited);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsync("/api/emotion", WavBody(good))).StatusCode);
    }

    [Fact]
    public async Task OpenApiAndHealth_AreServed()
    {
        using var http = Service.Client();
        var openapi = await http.GetStringAsync("/openapi/v1.json");
        Assert.Contains("/api/emotion/timeline", openapi, StringComparison.Ordinal);
        Assert.Equal("Healthy", await http.GetStringAsync("/health"));
        Assert.Contains("id=\"record\"", await http.GetStringAsync("/"), StringComparison.Ordinal);
    }

    private sealed record ProblemAnswer(int Status, string Detail);

    private static async Task<ProblemAnswer> Problem(HttpResponseMessage response)
    {
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync();
            using var json = JsonDocument.Parse(text.Length == 0 ? "{}" : text);
            var detail = json.RootElement.TryGetProperty("detail", out var d) ? d.GetString() ?? "" : text;
            return new ProblemAnswer((int)response.StatusCode, detail);
        }
    }
}

/// <summary>A full queue answers 503 with Retry-After, at once, and the held request still completes.</summary>
public sealed class OverloadTests
{
    [Fact]
    public async Task SecondRequest_WhileTheOnlySlotIsHeld_Gets503WithRetryAfter()
    {
        using var service = new WebServiceProcess("--EmotionRecognizer:QueueCapacity=1");
        using var http = service.Client();
        var bytes = await File.ReadAllBytesAsync(Path.Combine(TestPaths.TinyGroup, "a.wav"));
        var slow = new SlowContent(bytes);
        var held = http.PostAsync("/api/emotion", slow);
        await slow.HeaderSent;
        // Wait until the service has admitted it (the health check says the queue is full), however slow the machine.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await http.GetStringAsync("/health") != "Degraded")
        {
            Assert.True(DateTime.UtcNow < deadline, "the held request was never admitted");
            await Task.Delay(50);
        }

        using var refused = await http.PostAsync("/api/emotion", new ByteArrayContent(bytes));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);
        Assert.Contains("busy", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        slow.Finish();
        using var answered = await held;
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
    }

    /// <summary>Sends the first bytes of a WAV, then the rest only when told.</summary>
    private sealed class SlowContent(byte[] bytes) : HttpContent
    {
        private readonly TaskCompletionSource _sent = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _finish = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task HeaderSent => _sent.Task;

        public void Finish() => _finish.TrySetResult();

        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            await stream.WriteAsync(bytes.AsMemory(0, 44));
            await stream.FlushAsync();
            _sent.TrySetResult();
            await _finish.Task;
            await stream.WriteAsync(bytes.AsMemory(44));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = bytes.Length;
            return true;
        }
    }
}
