// Package loadgen is the reference pod's load generator (pod load and
// pod load fanout): it runs a pod in the process, with its store in a
// temporary directory or a PostgreSQL database, drives it over loopback
// and checks that every acknowledged body is stored exactly once. Its
// figures are in BENCHMARKS.md.
package loadgen
