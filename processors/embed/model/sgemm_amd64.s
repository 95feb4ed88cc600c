#include "textflag.h"

// func kernel6x16AVX2(k int, a *float32, lda int, b *float32, c *float32, ldc int)
//
// c[6×16] (row stride ldc) += a[6×k] (row stride lda) · b[k×16] (packed,
// 16 floats per step of k). Y0–Y11 accumulate the tile (two ymm per row);
// Y12, Y13 hold one row of b; Y14, Y15 the broadcast elements of a.
TEXT ·kernel6x16AVX2(SB), NOSPLIT, $0-48
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), DX
	MOVQ b+24(FP), DI
	MOVQ c+32(FP), R8
	MOVQ ldc+40(FP), R9
	SHLQ $2, DX
	SHLQ $2, R9

	// Row pointers of a: SI, R10, R11, R12, R13, AX.
	LEAQ (SI)(DX*1), R10
	LEAQ (SI)(DX*2), R11
	LEAQ (R10)(DX*2), R12
	LEAQ (R11)(DX*2), R13
	LEAQ (R12)(DX*2), AX

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

	TESTQ CX, CX
	JEQ   store

loop:
	VMOVUPS      (DI), Y12
	VMOVUPS      32(DI), Y13
	VBROADCASTSS (SI), Y14
	VBROADCASTSS (R10), Y15
	VFMADD231PS  Y12, Y14, Y0
	VFMADD231PS  Y13, Y14, Y1
	VFMADD231PS  Y12, Y15, Y2
	VFMADD231PS  Y13, Y15, Y3
	VBROADCASTSS (R11), Y14
	VBROADCASTSS (R12), Y15
	VFMADD231PS  Y12, Y14, Y4
	VFMADD231PS  Y13, Y14, Y5
	VFMADD231PS  Y12, Y15, Y6
	VFMADD231PS  Y13, Y15, Y7
	VBROADCASTSS (R13), Y14
	VBROADCASTSS (AX), Y15
	VFMADD231PS  Y12, Y14, Y8
	VFMADD231PS  Y13, Y14, Y9
	VFMADD231PS  Y12, Y15, Y10
	VFMADD231PS  Y13, Y15, Y11
	ADDQ         $4, SI
	ADDQ         $4, R10
	ADDQ         $4, R11
	ADDQ         $4, R12
	ADDQ         $4, R13
	ADDQ         $4, AX
	ADDQ         $64, DI
	DECQ         CX
	JNZ          loop

store:
	VADDPS  (R8), Y0, Y0
	VADDPS  32(R8), Y1, Y1
	VMOVUPS Y0, (R8)
	VMOVUPS Y1, 32(R8)
	ADDQ    R9, R8
	VADDPS  (R8), Y2, Y2
	VADDPS  32(R8), Y3, Y3
	VMOVUPS Y2, (R8)
	VMOVUPS Y3, 32(R8)
	ADDQ    R9, R8
	VADDPS  (R8), Y4, Y4
	VADDPS  32(R8), Y5, Y5
	VMOVUPS Y4, (R8)
	VMOVUPS Y5, 32(R8)
	ADDQ    R9, R8
	VADDPS  (R8), Y6, Y6
	VADDPS  32(R8), Y7, Y7
	VMOVUPS Y6, (R8)
	VMOVUPS Y7, 32(R8)
	ADDQ    R9, R8
	VADDPS  (R8), Y8, Y8
	VADDPS  32(R8), Y9, Y9
	VMOVUPS Y8, (R8)
	VMOVUPS Y9, 32(R8)
	ADDQ    R9, R8
	VADDPS  (R8), Y10, Y10
	VADDPS  32(R8), Y11, Y11
	VMOVUPS Y10, (R8)
	VMOVUPS Y11, 32(R8)
	VZEROUPPER
	RET

// func kernel12x16AVX512(k int, a *float32, lda int, b *float32, c *float32, ldc int)
//
// c[12×16] (row stride ldc) += a[12×k] (row stride lda) · b[k×16]
// (packed). Z0–Z11 accumulate one row each; Z12 holds one row of b; each
// FMA broadcasts its element of a from memory ({1to16}).
TEXT ·kernel12x16AVX512(SB), NOSPLIT, $0-48
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), DX
	MOVQ b+24(FP), DI
	MOVQ c+32(FP), R8
	MOVQ ldc+40(FP), R9
	SHLQ $2, DX
	SHLQ $2, R9

	// Rows 0–2 at SI, 3–5 at R10, 6–8 at R11, 9–11 at R12 (each base,
	// base+lda, base+2·lda).
	LEAQ (DX)(DX*2), AX
	LEAQ (SI)(AX*1), R10
	LEAQ (R10)(AX*1), R11
	LEAQ (R11)(AX*1), R12

	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11

	TESTQ CX, CX
	JEQ   store512

loop512:
	VMOVUPS          (DI), Z12
	VFMADD231PS.BCST (SI), Z12, Z0
	VFMADD231PS.BCST (SI)(DX*1), Z12, Z1
	VFMADD231PS.BCST (SI)(DX*2), Z12, Z2
	VFMADD231PS.BCST (R10), Z12, Z3
	VFMADD231PS.BCST (R10)(DX*1), Z12, Z4
	VFMADD231PS.BCST (R10)(DX*2), Z12, Z5
	VFMADD231PS.BCST (R11), Z12, Z6
	VFMADD231PS.BCST (R11)(DX*1), Z12, Z7
	VFMADD231PS.BCST (R11)(DX*2), Z12, Z8
	VFMADD231PS.BCST (R12), Z12, Z9
	VFMADD231PS.BCST (R12)(DX*1), Z12, Z10
	VFMADD231PS.BCST (R12)(DX*2), Z12, Z11
	ADDQ             $4, SI
	ADDQ             $4, R10
	ADDQ             $4, R11
	ADDQ             $4, R12
	ADDQ             $64, DI
	DECQ             CX
	JNZ              loop512

store512:
	VADDPS  (R8), Z0, Z0
	VMOVUPS Z0, (R8)
	ADDQ    R9, R8
	VADDPS  (R8), Z1, Z1
	VMOVUPS Z1, (R8)
	ADDQ    R9, R8
	VADDPS  (R8), Z2, Z2
	VMOVUPS Z2, (R8)
	ADDQ    R9, R8
	VADDPS  (R8), Z3, Z3
	VMOVUPS Z3, (R8)
	ADDQ    R9, R8
	VADDPS  (R8), Z4, Z4
	VMOVUPS Z4, (R8)
	ADDQ    R9, R8
	VADDPS  (R8), Z5, Z5
	VMOVUPS Z5, (R8)
	ADDQ    R9, R8
	VADDPS  (R8), Z6, Z6
	VMOVUPS Z6, (R8)
	ADDQ    R9, R8
	VADDPS  (R8), Z7, Z7
	VMOVUPS Z7, (R8)
	ADDQ    R9, R8
	VADDPS  (R8), Z8, Z8
	VMOVUPS Z8, (R8)
	ADDQ    R9, R8
	VADDPS  (R8), Z9, Z9
	VMOVUPS Z9, (R8)
	ADDQ    R9, R8
	VADDPS  (R8), Z10, Z10
	VMOVUPS Z10, (R8)
	ADDQ    R9, R8
	VADDPS  (R8), Z11, Z11
	VMOVUPS Z11, (R8)
	VZEROUPPER
	RET

// func axpyAVX2(alpha float32, x *float32, y *float32, n int)
//
// y[0:n] += alpha · x[0:n].
TEXT ·axpyAVX2(SB), NOSPLIT, $0-32
	VBROADCASTSS alpha+0(FP), Y0
	MOVQ         x+8(FP), SI
	MOVQ         y+16(FP), DI
	MOVQ         n+24(FP), CX

axpy32:
	CMPQ        CX, $32
	JLT         axpy8
	VMOVUPS     (DI), Y1
	VMOVUPS     32(DI), Y2
	VMOVUPS     64(DI), Y3
	VMOVUPS     96(DI), Y4
	VFMADD231PS (SI), Y0, Y1
	VFMADD231PS 32(SI), Y0, Y2
	VFMADD231PS 64(SI), Y0, Y3
	VFMADD231PS 96(SI), Y0, Y4
	VMOVUPS     Y1, (DI)
	VMOVUPS     Y2, 32(DI)
	VMOVUPS     Y3, 64(DI)
	VMOVUPS     Y4, 96(DI)
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         axpy32

axpy8:
	CMPQ        CX, $8
	JLT         axpy1
	VMOVUPS     (DI), Y1
	VFMADD231PS (SI), Y0, Y1
	VMOVUPS     Y1, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         axpy8

axpy1:
	TESTQ       CX, CX
	JEQ         axpydone
	VMOVSS      (DI), X1
	VFMADD231SS (SI), X0, X1
	VMOVSS      X1, (DI)
	ADDQ        $4, SI
	ADDQ        $4, DI
	DECQ        CX
	JMP         axpy1

axpydone:
	VZEROUPPER
	RET

// The constants of geluAVX2: 1/√2, the clamp ±4, 0.5, 1, then erff's
// numerator (α13 … α1) and denominator (β8 … β0) coefficients.
DATA geluc<>+0(SB)/4, $0.70710678118654752
DATA geluc<>+4(SB)/4, $4.0
DATA geluc<>+8(SB)/4, $-4.0
DATA geluc<>+12(SB)/4, $0.5
DATA geluc<>+16(SB)/4, $1.0
DATA geluc<>+20(SB)/4, $-2.72614225801306e-10
DATA geluc<>+24(SB)/4, $2.77068142495902e-08
DATA geluc<>+28(SB)/4, $-2.10102402082508e-06
DATA geluc<>+32(SB)/4, $-5.69250639462346e-05
DATA geluc<>+36(SB)/4, $-7.34990630326855e-04
DATA geluc<>+40(SB)/4, $-2.95459980854025e-03
DATA geluc<>+44(SB)/4, $-1.60960333262415e-02
DATA geluc<>+48(SB)/4, $-1.45660718464996e-05
DATA geluc<>+52(SB)/4, $-2.13374055278905e-04
DATA geluc<>+56(SB)/4, $-1.68282697438203e-03
DATA geluc<>+60(SB)/4, $-7.37332916720468e-03
DATA geluc<>+64(SB)/4, $-1.42647390514189e-02
GLOBL geluc<>(SB), RODATA|NOPTR, $68

// func geluAVX2(x *float32, n int)
//
// x[0:n] = gelu(x[0:n]) with erff's approximation, 8 at a time; n must be
// a multiple of 8.
TEXT ·geluAVX2(SB), NOSPLIT, $0-16
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	SHRQ         $3, CX
	JEQ          geludone
	VBROADCASTSS geluc<>+0(SB), Y15  // 1/√2
	VBROADCASTSS geluc<>+4(SB), Y14  // 4
	VBROADCASTSS geluc<>+8(SB), Y13  // -4
	VBROADCASTSS geluc<>+12(SB), Y12 // 0.5
	VBROADCASTSS geluc<>+16(SB), Y11 // 1

gelu8:
	VMOVUPS (SI), Y0     // v
	VMULPS  Y15, Y0, Y1  // t = v/√2
	VMINPS  Y14, Y1, Y1
	VMAXPS  Y13, Y1, Y1
	VMULPS  Y1, Y1, Y2   // t²

	// p = ((((((α13 t² + α11) t² + α9) t² + α7) t² + α5) t² + α3) t² + α1) · t
	VBROADCASTSS geluc<>+20(SB), Y3
	VBROADCASTSS geluc<>+24(SB), Y4
	VFMADD213PS  Y4, Y2, Y3          // Y3 = Y3·t² + α11
	VBROADCASTSS geluc<>+28(SB), Y4
	VFMADD213PS  Y4, Y2, Y3
	VBROADCASTSS geluc<>+32(SB), Y4
	VFMADD213PS  Y4, Y2, Y3
	VBROADCASTSS geluc<>+36(SB), Y4
	VFMADD213PS  Y4, Y2, Y3
	VBROADCASTSS geluc<>+40(SB), Y4
	VFMADD213PS  Y4, Y2, Y3
	VBROADCASTSS geluc<>+44(SB), Y4
	VFMADD213PS  Y4, Y2, Y3
	VMULPS       Y1, Y3, Y3

	// q = (((β8 t² + β6) t² + β4) t² + β2) t² + β0
	VBROADCASTSS geluc<>+48(SB), Y5
	VBROADCASTSS geluc<>+52(SB), Y4
	VFMADD213PS  Y4, Y2, Y5
	VBROADCASTSS geluc<>+56(SB), Y4
	VFMADD213PS  Y4, Y2, Y5
	VBROADCASTSS geluc<>+60(SB), Y4
	VFMADD213PS  Y4, Y2, Y5
	VBROADCASTSS geluc<>+64(SB), Y4
	VFMADD213PS  Y4, Y2, Y5

	VDIVPS  Y5, Y3, Y3   // erf = p/q
	VADDPS  Y11, Y3, Y3  // 1 + erf
	VMULPS  Y12, Y0, Y0  // v/2
	VMULPS  Y3, Y0, Y0
	VMOVUPS Y0, (SI)
	ADDQ    $32, SI
	DECQ    CX
	JNZ     gelu8

geludone:
	VZEROUPPER
	RET
