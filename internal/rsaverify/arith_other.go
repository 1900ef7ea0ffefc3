//go:build !amd64 || purego

package rsaverify

// kernel names the multiplication kernel in use, for tests and benchmarks.
const kernel = "generic"

// addMul is z[:len(x)] += x·y, returning the carry out (see addMulGeneric).
func addMul(z, x []uint64, y uint64) uint64 { return addMulGeneric(z, x, y) }

// mulRows adds the rows of the product x·y to z (see mulRowsWith).
func mulRows(z, x, y []uint64) { mulRowsWith(addMulGeneric, z, x, y) }

// sqrRows adds the cross products of x² to z (see sqrRowsWith).
func sqrRows(z, x []uint64) { sqrRowsWith(addMulGeneric, z, x) }

// redcRows runs the Montgomery reduction rows (see redcRowsWith).
func redcRows(t, n []uint64, n0 uint64) uint64 { return redcRowsWith(addMulGeneric, t, n, n0) }
