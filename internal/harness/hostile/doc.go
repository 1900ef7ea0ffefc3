// Package hostile holds the hostile-input corpus test of the SDK: it
// replays every case of the hostile-input corpus stored under
// testdata/hostile (described in its README.md) through the public API and
// checks that nothing was processed. Its non-test part, the corpus metadata
// ([Meta], [Variant]) and its loader ([Load], [ReadFile]), is shared with
// examples/pod, whose TestHostilePod replays the pod's cases (PD-*).
//
// The replay itself is in the tests. The corpus is rebuilt with
//
//	go test ./internal/harness/hostile -run TestGenerate -update
//
// Signatures are deterministic (PKCS#1 v1.5), so regenerating rewrites
// the signed inputs byte for byte; encrypted inputs get new random keys.
package hostile
