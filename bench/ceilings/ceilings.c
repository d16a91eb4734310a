// Single-core ceilings of a machine, for the roofline in perf-results/README.md:
//   gcc -O2 -mavx2 -mfma -o /tmp/ceilings bench/ceilings/ceilings.c && /tmp/ceilings
// FMA throughput: 10 independent chains of 256-bit FMAs (enough to cover latency 4 x 2 pipes).
// Read bandwidth: 8 independent 256-bit load+add chains over a buffer of each size, repeated (~4 GB read),
// best of 3. The sizes straddle L1 (32 KiB), L2 (512 KiB), L3 (32 MiB) and DRAM on Zen 3.
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(void){
  // FMA peak: 10 independent chains of vfmadd on ymm registers.
  __m256 a[10]; for(int i=0;i<10;i++) a[i]=_mm256_set1_ps(1.0f+i*1e-7f);
  __m256 m=_mm256_set1_ps(0.999999f), c=_mm256_set1_ps(1e-7f);
  long n=100000000; double best=0;
  for(int rep=0;rep<3;rep++){ double t0=now();
    __m256 a0=a[0],a1=a[1],a2=a[2],a3=a[3],a4=a[4],a5=a[5],a6=a[6],a7=a[7],a8=a[8],a9=a[9];
    for(long i=0;i<n;i++){ a0=_mm256_fmadd_ps(a0,m,c);a1=_mm256_fmadd_ps(a1,m,c);a2=_mm256_fmadd_ps(a2,m,c);a3=_mm256_fmadd_ps(a3,m,c);a4=_mm256_fmadd_ps(a4,m,c);
      a5=_mm256_fmadd_ps(a5,m,c);a6=_mm256_fmadd_ps(a6,m,c);a7=_mm256_fmadd_ps(a7,m,c);a8=_mm256_fmadd_ps(a8,m,c);a9=_mm256_fmadd_ps(a9,m,c);}
    a[0]=a0;a[1]=a1;a[2]=a2;a[3]=a3;a[4]=a4;a[5]=a5;a[6]=a6;a[7]=a7;a[8]=a8;a[9]=a9;
    double t=now()-t0; double g=n*10.0*16/t/1e9; if(g>best)best=g; }
  float s=0; for(int i=0;i<10;i++) s+=a[i][0];
  printf("fma peak: %.1f GFLOP/s (best of 3; sink %g)\n",best,s);
  size_t sizes[]={16<<10,24<<10,128<<10,384<<10,2<<20,8<<20,64<<20};
  for(int si=0;si<7;si++){ size_t bytes=sizes[si]; size_t nf=bytes/4;
    float* p=aligned_alloc(64,bytes); for(size_t i=0;i<nf;i++)p[i]=1e-3f*(i%7);
    long reps=(long)(4e9/bytes); if(reps<4)reps=4; double bestbw=0;
    for(int rep=0;rep<3;rep++){ __m256 acc[8]; for(int k=0;k<8;k++)acc[k]=_mm256_setzero_ps();
      double t0=now();
      __m256 b0=acc[0],b1=acc[1],b2=acc[2],b3=acc[3],b4=acc[4],b5=acc[5],b6=acc[6],b7=acc[7];
      for(long r=0;r<reps;r++){ for(size_t i=0;i<nf;i+=64){ const float* q=p+i;
        b0=_mm256_add_ps(b0,_mm256_load_ps(q));b1=_mm256_add_ps(b1,_mm256_load_ps(q+8));b2=_mm256_add_ps(b2,_mm256_load_ps(q+16));b3=_mm256_add_ps(b3,_mm256_load_ps(q+24));
        b4=_mm256_add_ps(b4,_mm256_load_ps(q+32));b5=_mm256_add_ps(b5,_mm256_load_ps(q+40));b6=_mm256_add_ps(b6,_mm256_load_ps(q+48));b7=_mm256_add_ps(b7,_mm256_load_ps(q+56)); } }
      acc[0]=_mm256_add_ps(_mm256_add_ps(b0,b1),_mm256_add_ps(b2,b3)); acc[7]=_mm256_add_ps(_mm256_add_ps(b4,b5),_mm256_add_ps(b6,b7));
      double t=now()-t0; double bw=(double)bytes*reps/t/1e9; if(bw>bestbw)bestbw=bw;
      s+=acc[0][0]+acc[7][0]; }
    printf("read %6zu KiB: %.1f GB/s\n",bytes>>10,bestbw); free(p);}
  printf("sink %g\n",s); return 0;}
