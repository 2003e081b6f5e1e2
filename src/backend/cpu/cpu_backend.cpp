// Placeholder translation unit: fast CPU kernels arrive with the CPU performance work.
namespace hearth::cpu {}
