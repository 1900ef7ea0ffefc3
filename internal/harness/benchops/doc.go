// Package benchops holds BenchmarkOps, the table of the SDK's operations
// measured on the reference vectors, each beside the bare cryptography it
// contains. See BENCHMARKS.md for the command that prints it.
package benchops
