// Package repocheck holds tests about the repository as a whole rather
// than about a package: that everything a reader is pointed to can be
// opened from the repository or a public URL. It has no API; run it with
//
//	go test ./internal/harness/repocheck
package repocheck
