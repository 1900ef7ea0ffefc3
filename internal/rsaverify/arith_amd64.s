//go:build amd64 && !purego

#include "textflag.h"

// The ADX functions share one row loop, written out in each of them
// (marked ROW below). A row adds x·DX to z, with DI = &z[0],
// SI = &x[0], CX = len(x); it leaves the carry out in BX and DI, SI
// just past the row, and clobbers CX, R8-R11 and the flags. Each word
// feeds two carry chains: CF (ADCX) adds the product's low word to the
// previous product's high word, OF (ADOX) adds z[i]. The len(x) mod 8
// first words go one at a time, then blocks of eight. LEA, MOV, JCXZ
// and JMP leave the flags alone, so the chains run through the whole
// row and are folded into the carry once, at its end.

// func cpuid(eax, ecx uint32) (a, b, c, d uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL eax+0(FP), AX
	MOVL ecx+4(FP), CX
	CPUID
	MOVL AX, a+8(FP)
	MOVL BX, b+12(FP)
	MOVL CX, c+16(FP)
	MOVL DX, d+20(FP)
	RET

// func addMulADX(z, x []uint64, y uint64) (carry uint64)
TEXT ·addMulADX(SB), NOSPLIT, $0-64
	MOVQ z_base+0(FP), DI
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX
	MOVQ y+48(FP), DX

	// ROW
	MOVQ  CX, R11
	SHRQ  $3, R11
	ANDQ  $7, CX
	XORQ  BX, BX
	XORQ  R8, R8 // CF = OF = 0

rem:
	JCXZQ blocks
	MULXQ 0(SI), R9, R10
	ADCXQ BX, R9
	ADOXQ 0(DI), R9
	MOVQ  R9, 0(DI)
	MOVQ  R10, BX
	LEAQ  8(SI), SI
	LEAQ  8(DI), DI
	LEAQ  -1(CX), CX
	JMP   rem

blocks:
	MOVQ R11, CX
	JMP  test

block:
	MULXQ 0(SI), R9, R10
	ADCXQ BX, R9
	ADOXQ 0(DI), R9
	MOVQ  R9, 0(DI)
	MULXQ 8(SI), R11, BX
	ADCXQ R10, R11
	ADOXQ 8(DI), R11
	MOVQ  R11, 8(DI)
	MULXQ 16(SI), R9, R10
	ADCXQ BX, R9
	ADOXQ 16(DI), R9
	MOVQ  R9, 16(DI)
	MULXQ 24(SI), R11, BX
	ADCXQ R10, R11
	ADOXQ 24(DI), R11
	MOVQ  R11, 24(DI)
	MULXQ 32(SI), R9, R10
	ADCXQ BX, R9
	ADOXQ 32(DI), R9
	MOVQ  R9, 32(DI)
	MULXQ 40(SI), R11, BX
	ADCXQ R10, R11
	ADOXQ 40(DI), R11
	MOVQ  R11, 40(DI)
	MULXQ 48(SI), R9, R10
	ADCXQ BX, R9
	ADOXQ 48(DI), R9
	MOVQ  R9, 48(DI)
	MULXQ 56(SI), R11, BX
	ADCXQ R10, R11
	ADOXQ 56(DI), R11
	MOVQ  R11, 56(DI)
	LEAQ  64(SI), SI
	LEAQ  64(DI), DI
	LEAQ  -1(CX), CX

test:
	JCXZQ fold
	JMP   block

fold:
	ADCXQ R8, BX
	ADOXQ R8, BX

	MOVQ BX, carry+56(FP)
	RET

// func mulRowsADX(z, x, y []uint64)
//
// z[i+len(x)] = carry of z[i:] += x·y[i], for each i: the schoolbook
// product, with z[:len(x)] zero on entry.
TEXT ·mulRowsADX(SB), NOSPLIT, $0-72
	MOVQ z_base+0(FP), R12
	MOVQ x_base+24(FP), R15
	MOVQ x_len+32(FP), AX
	MOVQ y_base+48(FP), R13
	MOVQ y_len+56(FP), R14

next:
	TESTQ R14, R14
	JZ    end
	MOVQ  0(R13), DX
	MOVQ  R12, DI
	MOVQ  R15, SI
	MOVQ  AX, CX

	// ROW
	MOVQ  CX, R11
	SHRQ  $3, R11
	ANDQ  $7, CX
	XORQ  BX, BX
	XORQ  R8, R8 // CF = OF = 0

rem:
	JCXZQ blocks
	MULXQ 0(SI), R9, R10
	ADCXQ BX, R9
	ADOXQ 0(DI), R9
	MOVQ  R9, 0(DI)
	MOVQ  R10, BX
	LEAQ  8(SI), SI
	LEAQ  8(DI), DI
	LEAQ  -1(CX), CX
	JMP   rem

blocks:
	MOVQ R11, CX
	JMP  test

block:
	MULXQ 0(SI), R9, R10
	ADCXQ BX, R9
	ADOXQ 0(DI), R9
	MOVQ  R9, 0(DI)
	MULXQ 8(SI), R11, BX
	ADCXQ R10, R11
	ADOXQ 8(DI), R11
	MOVQ  R11, 8(DI)
	MULXQ 16(SI), R9, R10
	ADCXQ BX, R9
	ADOXQ 16(DI), R9
	MOVQ  R9, 16(DI)
	MULXQ 24(SI), R11, BX
	ADCXQ R10, R11
	ADOXQ 24(DI), R11
	MOVQ  R11, 24(DI)
	MULXQ 32(SI), R9, R10
	ADCXQ BX, R9
	ADOXQ 32(DI), R9
	MOVQ  R9, 32(DI)
	MULXQ 40(SI), R11, BX
	ADCXQ R10, R11
	ADOXQ 40(DI), R11
	MOVQ  R11, 40(DI)
	MULXQ 48(SI), R9, R10
	ADCXQ BX, R9
	ADOXQ 48(DI), R9
	MOVQ  R9, 48(DI)
	MULXQ 56(SI), R11, BX
	ADCXQ R10, R11
	ADOXQ 56(DI), R11
	MOVQ  R11, 56(DI)
	LEAQ  64(SI), SI
	LEAQ  64(DI), DI
	LEAQ  -1(CX), CX

test:
	JCXZQ fold
	JMP   block

fold:
	ADCXQ R8, BX
	ADOXQ R8, BX

	MOVQ BX, 0(DI)
	LEAQ 8(R12), R12
	LEAQ 8(R13), R13
	DECQ R14
	JMP  next

end:
	RET

// func sqrRowsADX(z, x []uint64)
//
// For i < len(x)-1: z[i+len(x)] = carry of z[2i+1:] += x[i+1:]·x[i],
// the cross products of a square, each once, with z zero on entry.
TEXT ·sqrRowsADX(SB), NOSPLIT, $0-48
	MOVQ z_base+0(FP), R12
	MOVQ x_base+24(FP), R13
	MOVQ x_len+32(FP), R14
	LEAQ 8(R12), R12 // &z[1]
	DECQ R14         // rows of length len(x)-1 down to 1

next:
	TESTQ R14, R14
	JLE   end
	MOVQ  0(R13), DX
	LEAQ  8(R13), SI
	MOVQ  R12, DI
	MOVQ  R14, CX

	// ROW
	MOVQ  CX, R11
	SHRQ  $3, R11
	ANDQ  $7, CX
	XORQ  BX, BX
	XORQ  R8, R8 // CF = OF = 0

rem:
	JCXZQ blocks
	MULXQ 0(SI), R9, R10
	ADCXQ BX, R9
	ADOXQ 0(DI), R9
	MOVQ  R9, 0(DI)
	MOVQ  R10, BX
	LEAQ  8(SI), SI
	LEAQ  8(DI), DI
	LEAQ  -1(CX), CX
	JMP   rem

blocks:
	MOVQ R11, CX
	JMP  test

block:
	MULXQ 0(SI), R9, R10
	ADCXQ BX, R9
	ADOXQ 0(DI), R9
	MOVQ  R9, 0(DI)
	MULXQ 8(SI), R11, BX
	ADCXQ R10, R11
	ADOXQ 8(DI), R11
	MOVQ  R11, 8(DI)
	MULXQ 16(SI), R9, R10
	ADCXQ BX, R9
	ADOXQ 16(DI), R9
	MOVQ  R9, 16(DI)
	MULXQ 24(SI), R11, BX
	ADCXQ R10, R11
	ADOXQ 24(DI), R11
	MOVQ  R11, 24(DI)
	MULXQ 32(SI), R9, R10
	ADCXQ BX, R9
	ADOXQ 32(DI), R9
	MOVQ  R9, 32(DI)
	MULXQ 40(SI), R11, BX
	ADCXQ R10, R11
	ADOXQ 40(DI), R11
	MOVQ  R11, 40(DI)
	MULXQ 48(SI), R9, R10
	ADCXQ BX, R9
	ADOXQ 48(DI), R9
	MOVQ  R9, 48(DI)
	MULXQ 56(SI), R11, BX
	ADCXQ R10, R11
	ADOXQ 56(DI), R11
	MOVQ  R11, 56(DI)
	LEAQ  64(SI), SI
	LEAQ  64(DI), DI
	LEAQ  -1(CX), CX

test:
	JCXZQ fold
	JMP   block

fold:
	ADCXQ R8, BX
	ADOXQ R8, BX

	MOVQ BX, 0(DI)
	LEAQ 16(R12), R12
	LEAQ 8(R13), R13
	DECQ R14
	JMP  next

end:
	RET

// func redcADX(t, n []uint64, n0 uint64) (carry uint64)
//
// Montgomery reduction rows: for i < len(n), t[i:] += n·(t[i]·n0), the
// carry added into t[i+len(n)] and the carry of that into the next
// row's. Returns the last carry (the bit above t[2·len(n)-1]).
TEXT ·redcADX(SB), NOSPLIT, $0-64
	MOVQ t_base+0(FP), R12
	MOVQ n_base+24(FP), R13
	MOVQ n_len+32(FP), R14
	MOVQ R14, R15
	XORQ AX, AX // carry between rows

next:
	TESTQ R15, R15
	JZ    end
	MOVQ  0(R12), DX
	IMULQ n0+48(FP), DX
	MOVQ  R12, DI
	MOVQ  R13, SI
	MOVQ  R14, CX

	// ROW
	MOVQ  CX, R11
	SHRQ  $3, R11
	ANDQ  $7, CX
	XORQ  BX, BX
	XORQ  R8, R8 // CF = OF = 0

rem:
	JCXZQ blocks
	MULXQ 0(SI), R9, R10
	ADCXQ BX, R9
	ADOXQ 0(DI), R9
	MOVQ  R9, 0(DI)
	MOVQ  R10, BX
	LEAQ  8(SI), SI
	LEAQ  8(DI), DI
	LEAQ  -1(CX), CX
	JMP   rem

blocks:
	MOVQ R11, CX
	JMP  test

block:
	MULXQ 0(SI), R9, R10
	ADCXQ BX, R9
	ADOXQ 0(DI), R9
	MOVQ  R9, 0(DI)
	MULXQ 8(SI), R11, BX
	ADCXQ R10, R11
	ADOXQ 8(DI), R11
	MOVQ  R11, 8(DI)
	MULXQ 16(SI), R9, R10
	ADCXQ BX, R9
	ADOXQ 16(DI), R9
	MOVQ  R9, 16(DI)
	MULXQ 24(SI), R11, BX
	ADCXQ R10, R11
	ADOXQ 24(DI), R11
	MOVQ  R11, 24(DI)
	MULXQ 32(SI), R9, R10
	ADCXQ BX, R9
	ADOXQ 32(DI), R9
	MOVQ  R9, 32(DI)
	MULXQ 40(SI), R11, BX
	ADCXQ R10, R11
	ADOXQ 40(DI), R11
	MOVQ  R11, 40(DI)
	MULXQ 48(SI), R9, R10
	ADCXQ BX, R9
	ADOXQ 48(DI), R9
	MOVQ  R9, 48(DI)
	MULXQ 56(SI), R11, BX
	ADCXQ R10, R11
	ADOXQ 56(DI), R11
	MOVQ  R11, 56(DI)
	LEAQ  64(SI), SI
	LEAQ  64(DI), DI
	LEAQ  -1(CX), CX

test:
	JCXZQ fold
	JMP   block

fold:
	ADCXQ R8, BX
	ADOXQ R8, BX

	BTQ  $0, AX // CF = carry between rows
	ADCQ BX, 0(DI)
	SBBQ AX, AX
	NEGQ AX
	LEAQ 8(R12), R12
	DECQ R15
	JMP  next

end:
	MOVQ AX, carry+56(FP)
	RET

// func addMulMULQ(z, x []uint64, y uint64) (carry uint64)
//
// z[i] += x[i]·y with MULQ and a single carry chain, for CPUs without
// ADX; two words per round.
TEXT ·addMulMULQ(SB), NOSPLIT, $0-64
	MOVQ z_base+0(FP), DI
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX
	MOVQ y+48(FP), R8
	XORQ BX, BX
	CMPQ CX, $2
	JB   last

pair:
	MOVQ 0(SI), AX
	MULQ R8
	ADDQ BX, AX
	ADCQ $0, DX
	ADDQ AX, 0(DI)
	ADCQ $0, DX
	MOVQ DX, BX
	MOVQ 8(SI), AX
	MULQ R8
	ADDQ BX, AX
	ADCQ $0, DX
	ADDQ AX, 8(DI)
	ADCQ $0, DX
	MOVQ DX, BX
	ADDQ $16, SI
	ADDQ $16, DI
	SUBQ $2, CX
	CMPQ CX, $2
	JAE  pair

last:
	TESTQ CX, CX
	JZ    end
	MOVQ  0(SI), AX
	MULQ  R8
	ADDQ  BX, AX
	ADCQ  $0, DX
	ADDQ  AX, 0(DI)
	ADCQ  $0, DX
	MOVQ  DX, BX

end:
	MOVQ BX, carry+56(FP)
	RET
