//! The AVX2 backend.
//!
//! Every intrinsic here needs a CPU with AVX2, and every value of [`Avx2`]
//! is proof of one: its field is private to this module, and the only ways
//! to make a value take an [`Avx2Token`], which only
//! [`Avx2Token::detect`] creates, after `is_x86_feature_detected!("avx2")`.
//! So every `unsafe` block below is sound on the same ground (a token or a
//! value in hand), plus, for the few that read memory, the bounds stated
//! beside them.

use super::{math, normal_lane, Lane, RngLanes, Vf64, W};
use std::arch::x86_64::*;

/// Proof that the CPU running this process has AVX2: what it takes to
/// make an [`Avx2`] value. [`Avx2Token::detect`] is the only way to get
/// one (the field is private), so no safe code can make AVX2 values on
/// a CPU without AVX2.
#[derive(Clone, Copy, Debug)]
pub struct Avx2Token(());

impl Avx2Token {
    /// The token, when the CPU has AVX2.
    pub fn detect() -> Option<Avx2Token> {
        if std::arch::is_x86_feature_detected!("avx2") {
            Some(Avx2Token(()))
        } else {
            None
        }
    }
}

/// The four state words of the four lanes.
type State = [__m256i; 4];

#[inline(always)]
fn load_state(_: Avx2Token, rng: &RngLanes) -> State {
    std::array::from_fn(|w| {
        // SAFETY: the token proves AVX2; `rng.s[w]` is four u64, the 32
        // bytes an unaligned load reads.
        unsafe { _mm256_loadu_si256(rng.s[w].as_ptr() as *const __m256i) }
    })
}

#[inline(always)]
fn store_state(_: Avx2Token, rng: &mut RngLanes, s: &State) {
    for (w, v) in s.iter().enumerate() {
        // SAFETY: the token proves AVX2; `rng.s[w]` is four u64, the 32
        // bytes an unaligned store writes.
        unsafe { _mm256_storeu_si256(rng.s[w].as_mut_ptr() as *mut __m256i, *v) };
    }
}

#[inline(always)]
fn rotl<const L: i32, const R: i32>(_: Avx2Token, x: __m256i) -> __m256i {
    // SAFETY: the token proves AVX2; shifts and an or of registers.
    unsafe { _mm256_or_si256(_mm256_slli_epi64::<L>(x), _mm256_srli_epi64::<R>(x)) }
}

/// xoshiro256++'s next output of each lane, and the next state.
#[inline(always)]
fn next(t: Avx2Token, s: &State) -> (__m256i, State) {
    let [s0, s1, s2, s3] = *s;
    // SAFETY: the token proves AVX2; integer operations on registers.
    unsafe {
        let out = _mm256_add_epi64(rotl::<23, 41>(t, _mm256_add_epi64(s0, s3)), s0);
        let u = _mm256_slli_epi64::<17>(s1);
        let s2 = _mm256_xor_si256(s2, s0);
        let s3 = _mm256_xor_si256(s3, s1);
        let s1 = _mm256_xor_si256(s1, s2);
        let s0 = _mm256_xor_si256(s0, s3);
        let s2 = _mm256_xor_si256(s2, u);
        let s3 = rotl::<45, 19>(t, s3);
        (out, [s0, s1, s2, s3])
    }
}

/// (table[i], table[i + 1]) for the index i of each lane, as one
/// 16-byte load per lane (cheaper than two gathers on AMD cores): the
/// firsts and the seconds.
///
/// # Safety
/// `table[i]` and `table[i + 1]` must be f64s inside one table for
/// every lane's i.
#[inline(always)]
unsafe fn pairs(_: Avx2Token, table: *const f64, idx: __m256i) -> (__m256d, __m256d) {
    // SAFETY: the token proves AVX2; the caller vouches for the reads.
    unsafe {
        let at = |k: i64| _mm_loadu_pd(table.add(k as usize));
        let (lo, hi) = (
            _mm256_castsi256_si128(idx),
            _mm256_extracti128_si256::<1>(idx),
        );
        let e0 = at(_mm_cvtsi128_si64(lo));
        let e1 = at(_mm_extract_epi64::<1>(lo));
        let e2 = at(_mm_cvtsi128_si64(hi));
        let e3 = at(_mm_extract_epi64::<1>(hi));
        let x02 = _mm256_set_m128d(e2, e0);
        let x13 = _mm256_set_m128d(e3, e1);
        (_mm256_unpacklo_pd(x02, x13), _mm256_unpackhi_pd(x02, x13))
    }
}

/// The ziggurat's first attempt in every lane: the value and whether
/// it is accepted (rand_distr's fast path, operation for operation).
#[inline(always)]
fn ziggurat_first(t: Avx2Token, bits: __m256i) -> (__m256d, i32) {
    // SAFETY: the token proves AVX2. The table loads read
    // ZIG_NORM_X[i] and ZIG_NORM_X[i + 1] with i = bits & 0xff <= 255,
    // inside the table's 257 entries.
    unsafe {
        let i = _mm256_and_si256(bits, _mm256_set1_epi64x(0xff));
        // (bits >> 12).into_float_with_exponent(1) - 3.0: [2, 4) - 3.
        let u = _mm256_sub_pd(
            _mm256_castsi256_pd(_mm256_or_si256(
                _mm256_srli_epi64::<12>(bits),
                _mm256_set1_epi64x(0x4000_0000_0000_0000),
            )),
            _mm256_set1_pd(3.0),
        );
        // (x_tab[i], x_tab[i + 1]) of each lane.
        let (xi, xi1) = pairs(t, ZIG_NORM_X.as_ptr(), i);
        let x = _mm256_mul_pd(u, xi);
        let ax = _mm256_and_pd(x, _mm256_castsi256_pd(_mm256_set1_epi64x(i64::MAX)));
        let ok = _mm256_movemask_pd(_mm256_cmp_pd::<_CMP_LT_OQ>(ax, xi1));
        (x, ok)
    }
}

/// The ziggurat's slow path (about 1% of draws): the lanes of mask
/// `lanes` are drawn again from their state `old` with rand_distr's own
/// code; the others keep their value in `x`.
#[inline(always)]
fn redo(t: Avx2Token, x: __m256d, rng: &mut RngLanes, old: &State, lanes: i32) -> Avx2 {
    let mut xs = [0.0; W];
    Avx2(x).store(&mut xs);
    let mut before = *rng;
    store_state(t, &mut before, old);
    for (j, x) in xs.iter_mut().enumerate() {
        if lanes & (1 << j) != 0 {
            *x = normal_lane(&mut before, j);
            rng.set_lane(j, before.lane(j));
        }
    }
    Avx2::load(t, &xs)
}

/// The lane-wise operations of two values, one intrinsic each.
macro_rules! lanewise {
    ($($name:ident => $op:expr;)*) => {$(
        #[inline(always)]
        fn $name(self, o: Self) -> Self {
            // SAFETY: a value proves AVX2.
            unsafe { Avx2($op(self.0, o.0)) }
        }
    )*};
}

/// Four lanes in an AVX register. A value exists only where an
/// [`Avx2Token`] did (see the module's documentation), so its methods
/// need no token of their own. Made on the code path `batch` takes with
/// a token, inside a `#[target_feature(enable = "avx2")]` function,
/// where these methods are inlined.
#[derive(Clone, Copy, Debug)]
pub struct Avx2(__m256d);

impl Avx2 {
    #[inline(always)]
    fn token(self) -> Avx2Token {
        Avx2Token(())
    }
}

impl Vf64 for Avx2 {
    type Token = Avx2Token;
    type Lane = Lane;

    #[inline(always)]
    fn token(self) -> Avx2Token {
        Avx2::token(self)
    }
    #[inline(always)]
    fn splat(_: Avx2Token, x: f64) -> Self {
        // SAFETY: the token proves AVX2.
        unsafe { Avx2(_mm256_set1_pd(x)) }
    }
    #[inline(always)]
    fn load(_: Avx2Token, a: &Lane) -> Self {
        // SAFETY: the token proves AVX2; `a` is the four f64 read.
        unsafe { Avx2(_mm256_loadu_pd(a.as_ptr())) }
    }
    #[inline(always)]
    fn store(self, a: &mut Lane) {
        // SAFETY: a value proves AVX2; `a` is the four f64 written.
        unsafe { _mm256_storeu_pd(a.as_mut_ptr(), self.0) }
    }
    lanewise! {
        add => _mm256_add_pd;
        sub => _mm256_sub_pd;
        mul => _mm256_mul_pd;
        div => _mm256_div_pd;
        max => _mm256_max_pd;
        lt => _mm256_cmp_pd::<_CMP_LT_OQ>;
        le => _mm256_cmp_pd::<_CMP_LE_OQ>;
        eq => _mm256_cmp_pd::<_CMP_EQ_OQ>;
        and => _mm256_and_pd;
        andnot => _mm256_andnot_pd;
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        // SAFETY: a value proves AVX2.
        unsafe { Avx2(_mm256_sqrt_pd(self.0)) }
    }
    #[inline(always)]
    fn select(mask: Self, a: Self, b: Self) -> Self {
        // SAFETY: a value proves AVX2.
        unsafe { Avx2(_mm256_blendv_pd(b.0, a.0, mask.0)) }
    }
    #[inline(always)]
    fn any(self) -> bool {
        // SAFETY: a value proves AVX2.
        unsafe { _mm256_movemask_pd(self.0) != 0 }
    }
    #[inline(always)]
    fn all(self) -> bool {
        // SAFETY: a value proves AVX2.
        unsafe { _mm256_movemask_pd(self.0) == 0b1111 }
    }
    #[inline(always)]
    fn abs(self) -> Self {
        // SAFETY: a value proves AVX2.
        unsafe {
            let m = _mm256_castsi256_pd(_mm256_set1_epi64x(i64::MAX));
            Avx2(_mm256_and_pd(self.0, m))
        }
    }
    /// `math::exp_in_range`, operation for operation.
    #[inline(always)]
    fn exp_in_range(self) -> Self {
        // SAFETY: a value proves AVX2. The table loads read entries
        // 2i and 2i + 1 of math::TABLE with i = ki & 127 <= 127, inside
        // its 256 entries.
        unsafe {
            let sp = |x: f64| _mm256_set1_pd(x);
            let x = self.0;
            let z = _mm256_mul_pd(sp(math::INV_LN2_N), x);
            let kd = _mm256_add_pd(z, sp(math::SHIFT));
            let ki = _mm256_castpd_si256(kd);
            let kd = _mm256_sub_pd(kd, sp(math::SHIFT));
            let r = _mm256_add_pd(
                _mm256_add_pd(x, _mm256_mul_pd(kd, sp(math::NEG_LN2_HI_N))),
                _mm256_mul_pd(kd, sp(math::NEG_LN2_LO_N)),
            );
            // Table entries (tail, bits) of each lane.
            let idx = _mm256_slli_epi64::<1>(_mm256_and_si256(ki, _mm256_set1_epi64x(127)));
            let (tail, sbits) = pairs(self.token(), math::TABLE.as_ptr() as *const f64, idx);
            let sbits = _mm256_castpd_si256(sbits);
            let sbits = _mm256_add_epi64(sbits, _mm256_slli_epi64::<45>(ki));
            let r2 = _mm256_mul_pd(r, r);
            let p1 = _mm256_mul_pd(
                r2,
                _mm256_add_pd(sp(math::C2), _mm256_mul_pd(r, sp(math::C3))),
            );
            let p2 = _mm256_mul_pd(
                _mm256_mul_pd(r2, r2),
                _mm256_add_pd(sp(math::C4), _mm256_mul_pd(r, sp(math::C5))),
            );
            let tmp = _mm256_add_pd(_mm256_add_pd(_mm256_add_pd(tail, r), p1), p2);
            let scale = _mm256_castsi256_pd(sbits);
            Avx2(_mm256_add_pd(scale, _mm256_mul_pd(scale, tmp)))
        }
    }
    #[inline(always)]
    fn normal(t: Avx2Token, rng: &mut RngLanes) -> Self {
        let old = load_state(t, rng);
        let (bits, new) = next(t, &old);
        let (x, ok) = ziggurat_first(t, bits);
        store_state(t, rng, &new);
        if ok == 0b1111 {
            return Avx2(x);
        }
        redo(t, x, rng, &old, !ok & 0b1111)
    }
    #[inline(always)]
    fn normal_where(rng: &mut RngLanes, mask: Self) -> Self {
        let t = mask.token();
        let old = load_state(t, rng);
        let (bits, new) = next(t, &old);
        let (x, ok) = ziggurat_first(t, bits);
        // SAFETY: a value (the mask) proves AVX2.
        let (kept, wanted, x) = unsafe {
            let m = _mm256_castpd_si256(mask.0);
            let kept: State = std::array::from_fn(|w| _mm256_blendv_epi8(old[w], new[w], m));
            (kept, _mm256_movemask_pd(mask.0), _mm256_and_pd(x, mask.0))
        };
        store_state(t, rng, &kept);
        if ok & wanted == wanted {
            return Avx2(x);
        }
        redo(t, x, rng, &old, wanted & !ok)
    }
    /// (next_u64 >> 11) as f64 * 2^-53, the integer converted in two
    /// exact halves (AVX2 has no u64 -> f64 conversion).
    #[inline(always)]
    fn uniform(t: Avx2Token, rng: &mut RngLanes) -> Self {
        let (bits, new) = next(t, &load_state(t, rng));
        store_state(t, rng, &new);
        // SAFETY: the token proves AVX2; operations on registers.
        unsafe {
            let v = _mm256_srli_epi64::<11>(bits);
            let magic = _mm256_set1_epi64x(0x4330_0000_0000_0000);
            let two52 = _mm256_castsi256_pd(magic);
            let as_f64 =
                |w: __m256i| _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(w, magic)), two52);
            let hi = as_f64(_mm256_srli_epi64::<32>(v));
            let lo = as_f64(_mm256_and_si256(v, _mm256_set1_epi64x(0xffff_ffff)));
            let f = _mm256_add_pd(_mm256_mul_pd(hi, _mm256_set1_pd(4294967296.0)), lo);
            Avx2(_mm256_mul_pd(f, _mm256_set1_pd(1.0 / 9007199254740992.0)))
        }
    }
}

/// rand_distr 0.5's ZIG_NORM_X (src/ziggurat_tables.rs, Apache-2.0 OR MIT,
/// "Autogenerated by `ziggurat_tables.py`"), copied digit for digit: the
/// crate keeps it private, and the vectorised sampler must use the very same
/// table. `tests::normals_match_rand_distr` checks the whole sampler.
#[rustfmt::skip]
#[allow(clippy::excessive_precision)]
static ZIG_NORM_X: [f64; 257] = [
    3.910757959537090045, 3.654152885361008796, 3.449278298560964462, 3.320244733839166074,
    3.224575052047029100, 3.147889289517149969, 3.083526132001233044, 3.027837791768635434,
    2.978603279880844834, 2.934366867207854224, 2.894121053612348060, 2.857138730872132548,
    2.822877396825325125, 2.790921174000785765, 2.760944005278822555, 2.732685359042827056,
    2.705933656121858100, 2.680514643284522158, 2.656283037575502437, 2.633116393630324570,
    2.610910518487548515, 2.589575986706995181, 2.569035452680536569, 2.549221550323460761,
    2.530075232158516929, 2.511544441625342294, 2.493583041269680667, 2.476149939669143318,
    2.459208374333311298, 2.442725318198956774, 2.426670984935725972, 2.411018413899685520,
    2.395743119780480601, 2.380822795170626005, 2.366237056715818632, 2.351967227377659952,
    2.337996148795031370, 2.324308018869623016, 2.310888250599850036, 2.297723348901329565,
    2.284800802722946056, 2.272108990226823888, 2.259637095172217780, 2.247375032945807760,
    2.235313384928327984, 2.223443340090905718, 2.211756642882544366, 2.200245546609647995,
    2.188902771624720689, 2.177721467738641614, 2.166695180352645966, 2.155817819875063268,
    2.145083634046203613, 2.134487182844320152, 2.124023315687815661, 2.113687150684933957,
    2.103474055713146829, 2.093379631137050279, 2.083399693996551783, 2.073530263516978778,
    2.063767547809956415, 2.054107931648864849, 2.044547965215732788, 2.035084353727808715,
    2.025713947862032960, 2.016433734904371722, 2.007240830558684852, 1.998132471356564244,
    1.989106007615571325, 1.980158896898598364, 1.971288697931769640, 1.962493064942461896,
    1.953769742382734043, 1.945116560006753925, 1.936531428273758904, 1.928012334050718257,
    1.919557336591228847, 1.911164563769282232, 1.902832208548446369, 1.894558525668710081,
    1.886341828534776388, 1.878180486290977669, 1.870072921069236838, 1.862017605397632281,
    1.854013059758148119, 1.846057850283119750, 1.838150586580728607, 1.830289919680666566,
    1.822474540091783224, 1.814703175964167636, 1.806974591348693426, 1.799287584547580199,
    1.791640986550010028, 1.784033659547276329, 1.776464495522344977, 1.768932414909077933,
    1.761436365316706665, 1.753975320315455111, 1.746548278279492994, 1.739154261283669012,
    1.731792314050707216, 1.724461502945775715, 1.717160915015540690, 1.709889657069006086,
    1.702646854797613907, 1.695431651932238548, 1.688243209434858727, 1.681080704722823338,
    1.673943330923760353, 1.666830296159286684, 1.659740822855789499, 1.652674147080648526,
    1.645629517902360339, 1.638606196773111146, 1.631603456932422036, 1.624620582830568427,
    1.617656869570534228, 1.610711622367333673, 1.603784156023583041, 1.596873794420261339,
    1.589979870021648534, 1.583101723393471438, 1.576238702733332886, 1.569390163412534456,
    1.562555467528439657, 1.555733983466554893, 1.548925085471535512, 1.542128153226347553,
    1.535342571438843118, 1.528567729435024614, 1.521803020758293101, 1.515047842773992404,
    1.508301596278571965, 1.501563685112706548, 1.494833515777718391, 1.488110497054654369,
    1.481394039625375747, 1.474683555695025516, 1.467978458615230908, 1.461278162507407830,
    1.454582081885523293, 1.447889631277669675, 1.441200224845798017, 1.434513276002946425,
    1.427828197027290358, 1.421144398672323117, 1.414461289772464658, 1.407778276843371534,
    1.401094763676202559, 1.394410150925071257, 1.387723835686884621, 1.381035211072741964,
    1.374343665770030531, 1.367648583594317957, 1.360949343030101844, 1.354245316759430606,
    1.347535871177359290, 1.340820365893152122, 1.334098153216083604, 1.327368577624624679,
    1.320630975217730096, 1.313884673146868964, 1.307128989027353860, 1.300363230327433728,
    1.293586693733517645, 1.286798664489786415, 1.279998415710333237, 1.273185207661843732,
    1.266358287014688333, 1.259516886060144225, 1.252660221891297887, 1.245787495544997903,
    1.238897891102027415, 1.231990574742445110, 1.225064693752808020, 1.218119375481726552,
    1.211153726239911244, 1.204166830140560140, 1.197157747875585931, 1.190125515422801650,
    1.183069142678760732, 1.175987612011489825, 1.168879876726833800, 1.161744859441574240,
    1.154581450355851802, 1.147388505416733873, 1.140164844363995789, 1.132909248648336975,
    1.125620459211294389, 1.118297174115062909, 1.110938046009249502, 1.103541679420268151,
    1.096106627847603487, 1.088631390649514197, 1.081114409698889389, 1.073554065787871714,
    1.065948674757506653, 1.058296483326006454, 1.050595664586207123, 1.042844313139370538,
    1.035040439828605274, 1.027181966030751292, 1.019266717460529215, 1.011292417434978441,
    1.003256679539591412, 0.995156999629943084, 0.986990747093846266, 0.978755155288937750,
    0.970447311058864615, 0.962064143217605250, 0.953602409875572654, 0.945058684462571130,
    0.936429340280896860, 0.927710533396234771, 0.918898183643734989, 0.909987953490768997,
    0.900975224455174528, 0.891855070726792376, 0.882622229578910122, 0.873271068082494550,
    0.863795545546826915, 0.854189171001560554, 0.844444954902423661, 0.834555354079518752,
    0.824512208745288633, 0.814306670128064347, 0.803929116982664893, 0.793369058833152785,
    0.782615023299588763, 0.771654424216739354, 0.760473406422083165, 0.749056662009581653,
    0.737387211425838629, 0.725446140901303549, 0.713212285182022732, 0.700661841097584448,
    0.687767892786257717, 0.674499822827436479, 0.660822574234205984, 0.646695714884388928,
    0.632072236375024632, 0.616896989996235545, 0.601104617743940417, 0.584616766093722262,
    0.567338257040473026, 0.549151702313026790, 0.529909720646495108, 0.509423329585933393,
    0.487443966121754335, 0.463634336771763245, 0.437518402186662658, 0.408389134588000746,
    0.375121332850465727, 0.335737519180459465, 0.286174591747260509, 0.215241895913273806,
    0.000000000000000000,
];
