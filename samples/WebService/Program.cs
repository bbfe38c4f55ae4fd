using System.Globalization;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Timeouts;
using SerMtl.Inference;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddEmotionRecognizer(builder.Configuration.GetSection("EmotionRecognizer"));   // the recognizer, in one line
builder.Services.AddHealthChecks().AddEmotionRecognizerCheck();
builder.Services.AddOpenApi();
builder.Services.AddProblemDetails();

var maxUpload = builder.Configuration.GetValue<long?>("Service:MaxUploadBytes") ?? 50L << 20;
var timeout = TimeSpan.FromSeconds(builder.Configuration.GetValue<double?>("Service:RequestTimeoutSeconds") ?? 60);
builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = maxUpload);
builder.Services.Configure<FormOptions>(form => form.MultipartBodyLengthLimit = maxUpload);
builder.Services.AddRequestTimeouts(options => options.DefaultPolicy = new RequestTimeoutPolicy
{
    Timeout = timeout,
    TimeoutStatusCode = StatusCodes.Status504GatewayTimeout,
});

var app = builder.Build();
app.UseDefaultFiles();
app.UseStaticFiles();
app.UseRequestTimeouts();
app.MapOpenApi();
app.MapHealthChecks("/health");

var api = app.MapGroup("/api/emotion");
api.MapPost("/", (HttpRequest request, IEmotionRecognizer recognizer) =>
        Answer(request, maxUpload, async (audio, name, token) => Json.Prediction(await recognizer.PredictAsync(audio, name, token))))
    .WithSummary("The emotion, the probability of every label and the transcript of a WAV recording")
    .WithDescription("The WAV as the raw body (audio/wav, application/octet-stream) or as the 'audio' field of a multipart form. "
        + "400: not readable WAV audio (or too short); 413: larger than the upload limit; 503: the recognizer's queue is full (Retry-After).");
api.MapPost("/timeline", (HttpRequest request, IEmotionRecognizer recognizer) =>
        Answer(request, maxUpload, async (audio, name, token) => Json.Timeline(await recognizer.PredictTimelineAsync(audio, name, null, token))))
    .WithSummary("The recording cut into utterances at its pauses, with the emotion and transcript of each")
    .WithDescription("Input and errors as POST /api/emotion.");
api.MapGet("/labels", (IEmotionRecognizer recognizer) => Results.Ok(new { labels = recognizer.Labels, regression = recognizer.IsRegression, sample_rate = recognizer.SampleRate }))
    .WithSummary("The model's labels");

app.Run();

/// <summary>Reads the upload (raw body or the form's 'audio' file), runs <paramref name="predict"/>, and turns failures into status codes.</summary>
static async Task<IResult> Answer(HttpRequest request, long maxUpload, Func<Stream, string, CancellationToken, Task<object>> predict)
{
    var token = request.HttpContext.RequestAborted;
    try
    {
        if (request.ContentLength > maxUpload) return TooLarge(maxUpload);
        if (request.HasFormContentType)
        {
            var form = await request.ReadFormAsync(token);
            var file = form.Files["audio"] ?? form.Files.FirstOrDefault();
            if (file is null) return Problem(StatusCodes.Status400BadRequest, "no file: send the WAV as the form field 'audio' or as the raw body");
            await using var upload = file.OpenReadStream();
            return Results.Ok(await predict(upload, file.FileName, token));
        }
        return Results.Ok(await predict(request.Body, "upload", token));
    }
    catch (RecognizerOverloadedException e)
    {
        request.HttpContext.Response.Headers.RetryAfter = "1";
        return Problem(StatusCodes.Status503ServiceUnavailable, e.Message);
    }
    catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
    {
        return TooLarge(maxUpload);
    }
    catch (InvalidDataException e)
    {
        return Problem(StatusCodes.Status400BadRequest, e.Message);
    }
    catch (ArgumentException e)
    {
        return Problem(StatusCodes.Status400BadRequest, e.Message);
    }
}

static IResult TooLarge(long maxUpload) =>
    Problem(StatusCodes.Status413PayloadTooLarge, string.Create(CultureInfo.InvariantCulture, $"the upload is larger than this service's limit of {maxUpload / 1048576.0:0.#} MiB"));

static IResult Problem(int status, string detail) => Results.Problem(detail: detail, statusCode: status);

/// <summary>The JSON the API answers with (snake_case, as `sermtl predict --json` writes).</summary>
internal static class Json
{
    public static object Prediction(EmotionPrediction p) => new Dictionary<string, object?>
    {
        ["label"] = p.Label,
        ["confidence"] = float.IsNaN(p.Confidence) ? null : p.Confidence,
        ["probabilities"] = p.Probabilities,
        ["scores"] = p.Scores.Count > 0 ? p.Scores : null,
        ["transcript"] = p.Transcript,
        ["duration_seconds"] = p.Duration.TotalSeconds,
        ["warnings"] = p.Warnings,
        ["windows"] = p.Windows.Select(w => new { start_seconds = w.Start.TotalSeconds, duration_seconds = w.Duration.TotalSeconds, label = w.Label, probabilities = w.Probabilities, transcript = w.Transcript }),
    };

    public static object Timeline(EmotionTimeline t) => new Dictionary<string, object?>
    {
        ["duration_seconds"] = t.Duration.TotalSeconds,
        ["segments"] = t.Segments.Select(s => new Dictionary<string, object?>
        {
            ["start_seconds"] = s.Start.TotalSeconds,
            ["end_seconds"] = s.End.TotalSeconds,
            ["label"] = s.Prediction.Label,
            ["confidence"] = float.IsNaN(s.Prediction.Confidence) ? null : s.Prediction.Confidence,
            ["probabilities"] = s.Prediction.Probabilities,
            ["transcript"] = s.Prediction.Transcript,
        }),
        ["warnings"] = t.Warnings,
    };
}
