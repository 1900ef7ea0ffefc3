//go:build unix

package main

import "syscall"

// restrictUmask makes every file the process creates private to its
// owner (the database, its WAL and shared memory hold private keys).
func restrictUmask() { syscall.Umask(0o077) }
