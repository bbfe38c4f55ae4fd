using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SerMtl.Extensions.Hosting;
using SerMtl.Inference;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers SerMtl's recognizer in a host.</summary>
public static class EmotionRecognizerServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IEmotionRecognizer"/> as a singleton configured by <paramref name="section"/> (see
    /// <see cref="EmotionRecognizerServiceOptions"/>): settings validated when the host starts, the model loaded (and,
    /// unless <c>WarmUp</c> is false, run once) at start, disposed with the host. Add
    /// <see cref="AddEmotionRecognizerCheck"/> to the health checks to report it.
    /// </summary>
    /// <example><code>builder.Services.AddEmotionRecognizer(builder.Configuration.GetSection("EmotionRecognizer"));</code></example>
    public static IServiceCollection AddEmotionRecognizer(this IServiceCollection services, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(section);
        var name = section is IConfigurationSection s ? s.Path : "EmotionRecognizer";
        services.AddOptions<EmotionRecognizerServiceOptions>().Bind(section).ValidateOnStart();
        return AddCore(services, name);
    }

    /// <summary>As <see cref="AddEmotionRecognizer(IServiceCollection, IConfiguration)"/>, with the settings given in code.</summary>
    public static IServiceCollection AddEmotionRecognizer(this IServiceCollection services, Action<EmotionRecognizerServiceOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<EmotionRecognizerServiceOptions>().Configure(configure).ValidateOnStart();
        return AddCore(services, "EmotionRecognizer");
    }

    /// <summary>
    /// Adds the recognizer's health check (name <paramref name="name"/>): healthy once the model is loaded and warmed up,
    /// degraded while its queue is full (new requests are being refused), unhealthy when loading failed.
    /// </summary>
    public static IHealthChecksBuilder AddEmotionRecognizerCheck(this IHealthChecksBuilder builder, string name = "emotion_recognizer")
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddCheck<EmotionRecognizerHealthCheck>(name);
    }

    private static IServiceCollection AddCore(IServiceCollection services, string section)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EmotionRecognizerServiceOptions>>(new EmotionRecognizerOptionsValidator(section)));
        services.TryAddSingleton<EmotionRecognizerHolder>();
        services.TryAddSingleton<IEmotionRecognizer>(provider => provider.GetRequiredService<EmotionRecognizerHolder>().Recognizer);
        services.AddHostedService<EmotionRecognizerStartup>();
        return services;
    }
}
