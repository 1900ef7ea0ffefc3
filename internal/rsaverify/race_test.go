//go:build race

package rsaverify

const raceEnabled = true
