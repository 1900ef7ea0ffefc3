//go:build !unix

package main

// restrictUmask does nothing where there is no umask; OpenStore still
// sets the database files' modes.
func restrictUmask() {}
