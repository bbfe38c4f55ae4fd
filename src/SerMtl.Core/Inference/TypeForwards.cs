using System.Runtime.CompilerServices;
using SerMtl.Inference;

// The prediction records moved to SerMtl.Data (shared by every engine, ONNX Runtime's included); apps built against
// SerMtl.Core 0.1 still find them through these forwards.
[assembly: TypeForwardedTo(typeof(EmotionPrediction))]
[assembly: TypeForwardedTo(typeof(EmotionWindow))]
