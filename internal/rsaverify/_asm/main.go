// Command _asm generates ../arith_amd64.s, the amd64 kernels of package
// rsaverify, with avo (github.com/mmcloughlin/avo).
//
// To regenerate, from the repository root:
//
//	go generate ./internal/rsaverify/
//
// which runs, in this directory (see ../gen.go),
//
//	go run . -out ../arith_amd64.s -pkg rsaverify
//
// The output depends only on this file and the avo version in go.mod, so
// running it again reproduces the committed file byte for byte; CI checks
// that it does. This directory is a module of its own, which the go tool
// leaves out of the SDK (its name starts with an underscore), so avo is
// not a dependency of the SDK.
//
// The Go declarations of the functions are in ../arith_amd64.go; the
// signatures below repeat them, and go vet (asmdecl) checks that the
// two agree.
package main

import (
	"math/bits"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/ir"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// adxUnroll is the number of words in one block of the ADX row loop. It
// must be a power of two, and even: the block alternates two register
// pairs and ends with the carry in BX, where it started.
const adxUnroll = 8

// mulqUnroll is the number of words per round of addMulMULQ. The tail
// after the rounds is a single word, so it must be 2.
const mulqUnroll = 2

func main() {
	ConstraintExpr("amd64,!purego")

	addMulADX()
	mulRowsADX()
	sqrRowsADX()
	redcADX()
	addMulMULQ()

	Generate()
}

// at is the word i words past the address in base.
func at(base Register, i int) Mem { return Mem{Base: base, Disp: 8 * i} }

// param is the frame address of the scalar parameter name.
func param(name string) Mem {
	b, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

// jcxzq emits JCXZQ to label. avo's instruction table gives JCXZQ only
// a rel8 form, which a label does not match, so the instruction is built
// here; the assembler picks the encoding.
func jcxzq(label string) {
	Instruction(&ir.Instruction{
		Opcode:        "JCXZQ",
		Operands:      []Op{LabelRef(label)},
		Inputs:        []Op{RCX},
		IsBranch:      true,
		IsConditional: true,
	})
}

// mulAdd emits one word of an ADX row: z[i] += x[i]·DX + cin, with lo
// and hi taking the product's words. CF (ADCX) carries the addition of
// the previous product's high word cin, OF (ADOX) that of z[i], so the
// two chains run side by side; hi is the next word's cin.
func mulAdd(i int, lo, hi, cin Register) {
	MULXQ(at(RSI, i), lo, hi)
	ADCXQ(cin, lo)
	ADOXQ(at(RDI, i), lo)
	MOVQ(lo, at(RDI, i))
}

// row emits the row loop the ADX functions share: z[:CX] += x[:CX]·DX,
// with DI = &z[0], SI = &x[0]. It leaves the carry out in BX and DI, SI
// just past the row, and clobbers CX, R8-R11 and the flags. The
// len(x) mod adxUnroll first words go one at a time (rem), then blocks
// of adxUnroll words. LEA, MOV, JCXZ and JMP leave the flags alone, so
// the two carry chains run through the whole row and are folded into
// the carry once, at its end.
func row() {
	Comment(
		"Row (see row in _asm/main.go): z[:CX] += x[:CX]·DX, the carry out in BX.",
		"XORQ R8, R8 clears CF and OF, the two carry chains; R8 stays zero.",
	)
	MOVQ(RCX, R11)
	SHRQ(Imm(uint64(bits.TrailingZeros(adxUnroll))), R11)
	ANDQ(Imm(adxUnroll-1), RCX)
	XORQ(RBX, RBX)
	XORQ(R8, R8)

	Label("rem")
	jcxzq("blocks")
	mulAdd(0, R9, R10, RBX)
	MOVQ(R10, RBX)
	LEAQ(at(RSI, 1), RSI)
	LEAQ(at(RDI, 1), RDI)
	LEAQ(Mem{Base: RCX, Disp: -1}, RCX)
	JMP(LabelRef("rem"))

	Label("blocks")
	MOVQ(R11, RCX)
	JMP(LabelRef("test"))

	Label("block")
	// Word k's product goes to pair k%2; its carry in is the other
	// pair's high word (BX for word 0, as in rem).
	pairs := [2][2]Register{{R9, R10}, {R11, RBX}}
	for k := 0; k < adxUnroll; k++ {
		p, prev := pairs[k%2], pairs[(k+1)%2]
		mulAdd(k, p[0], p[1], prev[1])
	}
	LEAQ(at(RSI, adxUnroll), RSI)
	LEAQ(at(RDI, adxUnroll), RDI)
	LEAQ(Mem{Base: RCX, Disp: -1}, RCX)

	Label("test")
	jcxzq("fold")
	JMP(LabelRef("block"))

	Label("fold")
	ADCXQ(R8, RBX)
	ADOXQ(R8, RBX)
}

// rows emits a loop that runs body, which contains one row, count times
// (count > 0 on entry; count is decremented after each row).
func rows(count Register, body func()) {
	Label("next")
	TESTQ(count, count)
	JLE(LabelRef("end"))
	body()
	DECQ(count)
	JMP(LabelRef("next"))
	Label("end")
}

func addMulADX() {
	TEXT("addMulADX", NOSPLIT, "func(z, x []uint64, y uint64) (carry uint64)")
	Load(Param("z").Base(), RDI)
	Load(Param("x").Base(), RSI)
	Load(Param("x").Len(), RCX)
	Load(Param("y"), RDX)
	row()
	Store(RBX, ReturnIndex(0))
	RET()
}

func mulRowsADX() {
	TEXT("mulRowsADX", NOSPLIT, "func(z, x, y []uint64)")
	Comment(
		"z[i+len(x)] = carry of z[i:] += x·y[i], for each i: the schoolbook",
		"product, with z[:len(x)] zero on entry.",
	)
	z, x := Load(Param("z").Base(), R12), Load(Param("x").Base(), R15)
	n := Load(Param("x").Len(), RAX)
	y, count := Load(Param("y").Base(), R13), Load(Param("y").Len(), R14)
	rows(count, func() {
		MOVQ(at(y, 0), RDX)
		MOVQ(z, RDI)
		MOVQ(x, RSI)
		MOVQ(n, RCX)
		row()
		MOVQ(RBX, at(RDI, 0))
		LEAQ(at(z, 1), z)
		LEAQ(at(y, 1), y)
	})
	RET()
}

func sqrRowsADX() {
	TEXT("sqrRowsADX", NOSPLIT, "func(z, x []uint64)")
	Comment(
		"For i < len(x)-1: z[i+len(x)] = carry of z[2i+1:] += x[i+1:]·x[i],",
		"the cross products of a square, each once, with z zero on entry.",
	)
	z, x := Load(Param("z").Base(), R12), Load(Param("x").Base(), R13)
	count := Load(Param("x").Len(), R14)
	Comment("Rows of length len(x)-1 down to 1 from &z[1].")
	LEAQ(at(z, 1), z)
	DECQ(count)
	rows(count, func() {
		MOVQ(at(x, 0), RDX)
		LEAQ(at(x, 1), RSI)
		MOVQ(z, RDI)
		MOVQ(count, RCX)
		row()
		MOVQ(RBX, at(RDI, 0))
		LEAQ(at(z, 2), z)
		LEAQ(at(x, 1), x)
	})
	RET()
}

func redcADX() {
	TEXT("redcADX", NOSPLIT, "func(t, n []uint64, n0 uint64) (carry uint64)")
	Comment(
		"Montgomery reduction rows: for i < len(n), t[i:] += n·(t[i]·n0), the",
		"carry added into t[i+len(n)] and the carry of that into the next",
		"row's. Returns the last carry (the bit above t[2·len(n)-1]).",
	)
	t, nn := Load(Param("t").Base(), R12), Load(Param("n").Base(), R13)
	n := Load(Param("n").Len(), R14)
	count, carry := R15, RAX
	MOVQ(n, count)
	Comment("AX: the carry between rows.")
	XORQ(carry, carry)
	rows(count, func() {
		MOVQ(at(t, 0), RDX)
		IMULQ(param("n0"), RDX)
		MOVQ(t, RDI)
		MOVQ(nn, RSI)
		MOVQ(n, RCX)
		row()
		Comment("t[i+len(n)] += BX + the carry between rows, whose carry is the next one.")
		BTQ(Imm(0), carry)
		ADCQ(RBX, at(RDI, 0))
		SBBQ(carry, carry)
		NEGQ(carry)
		LEAQ(at(t, 1), t)
	})
	Store(carry, ReturnIndex(0))
	RET()
}

// mulqWord emits z[i] += x[i]·R8 + BX with MULQ, the carry out in BX.
func mulqWord(i int) {
	MOVQ(at(RSI, i), RAX)
	MULQ(R8)
	ADDQ(RBX, RAX)
	ADCQ(Imm(0), RDX)
	ADDQ(RAX, at(RDI, i))
	ADCQ(Imm(0), RDX)
	MOVQ(RDX, RBX)
}

func addMulMULQ() {
	TEXT("addMulMULQ", NOSPLIT, "func(z, x []uint64, y uint64) (carry uint64)")
	Comment(
		"z[i] += x[i]·y with MULQ and a single carry chain, for CPUs without",
		"ADX; two words per round.",
	)
	Load(Param("z").Base(), RDI)
	Load(Param("x").Base(), RSI)
	Load(Param("x").Len(), RCX)
	Load(Param("y"), R8)
	XORQ(RBX, RBX)
	CMPQ(RCX, Imm(mulqUnroll))
	JB(LabelRef("last"))

	Label("pair")
	for i := 0; i < mulqUnroll; i++ {
		mulqWord(i)
	}
	ADDQ(Imm(8*mulqUnroll), RSI)
	ADDQ(Imm(8*mulqUnroll), RDI)
	SUBQ(Imm(mulqUnroll), RCX)
	CMPQ(RCX, Imm(mulqUnroll))
	JAE(LabelRef("pair"))

	Label("last")
	TESTQ(RCX, RCX)
	JZ(LabelRef("end"))
	mulqWord(0)

	Label("end")
	Store(RBX, ReturnIndex(0))
	RET()
}
