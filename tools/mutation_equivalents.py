"""Surviving mutants that cannot change any result, each with its reason.

Keyed by mutmut's mutant name (``gradcheck.<module>.x_<function>__mutmut_<n>``, stable
for the mutmut version pinned in ``constraints.txt``); read by ``tools/mutate.py``.
A mutant belongs here only when no input can tell it from the original (for example a
changed default that every caller overrides); one that a test *could* notice is a gap
in the tests, not an entry here.
mutmut renumbers a function's mutants when its source changes: recheck every entry
of a changed function (``mutmut show NAME``) before trusting it.
"""

from __future__ import annotations

#: ``<`` for ``<=`` in ``_factor_text``: they differ only when ``|c − k|`` (or
#: ``|1/c − j|``) equals ``FIT·|c|`` exactly in float64. ``c − k`` is exact (Sterbenz)
#: while ``FIT·c`` is rounded, and a search of ±20000 ulps around every boundary
#: ``k/(1 ± FIT)``, ``k = 2…500`` (and the same for ``1/c``) finds no such ``c``; past
#: 500, ``FIT·c > 0.5 ≥ |c − k|`` and both comparisons hold.
_FACTOR_EDGE = (
    "no float64 factor sits exactly on the FIT boundary of a whole number: a search of "
    "±20000 ulps around every k/(1 ± FIT), k = 2…500, finds none (c − k is exact, "
    "FIT·c is rounded; past 500 both hold), so < and <= agree on every input"
)

_NEAR_ONE = (
    ">= for > (or < for <=) in |c ∓ 1| against FIT: for c within FIT of ±1, c ∓ 1 is "
    "exact (Sterbenz) and a multiple of 2⁻⁵³, and float64 FIT = 1e-3 is not "
    "(1e-3·2⁵³ = 9007199254740.992), so |c ∓ 1| never equals FIT"
)


_ANY_NEGATIVE_SIZE = (
    "g.reshape(-2) instead of g.reshape(-1): NumPy (2.4.6 here) reads any negative "
    "size as the one unknown dimension, so both flatten g alike"
)
_STOPPED_STATUS = (
    "the stopped check's Outcome without status='inconclusive' (None): build_report then "
    "takes overall_status of its parameters, every one 'inconclusive', which is "
    "'inconclusive'; the only caller (_engine._run) has at least one parameter, as "
    "check() refuses empty params first"
)

_C_NEVER_ZERO = (
    "c <= 0 instead of c < 0: c is exactly 0 only when the numeric gradient is "
    "orthogonal to the analytic one, and then _fits(aj, 0·nj) needs ‖aj‖ ≤ FIT·‖aj‖, "
    "false for aj ≠ 0 (and aj = 0 gives scale 0, also false): the branch is never "
    "reached with c = 0. scaled's other caller, _localise.diagnose_directional, needs "
    "every probe to fit p.analytic / c: with c = 0 the largest probe's p.analytic is 0 "
    "and 0 / c is NaN (fits nothing) or raises, so scaled is not reached"
)

_ZIP_STOPS_AT_THE_RECORDED_SIZE = (
    "_check_header has made the header's data end exactly at the member's recorded size, "
    "and zipfile ends a member there and checks its CRC the moment it reaches it: "
    "read(nbytes), read() and a last read of 0, 1 or 2 bytes return the same data and "
    "raise the same errors (a flipped CRC, a stream longer than recorded: checked)"
)
_ONLY_THE_NPY_MAGIC_COUNTS = (
    "the magic read when the file cannot be opened a second time (b'' → None or "
    "b'XXXX'): the only use of magic is == the 6-byte .npy magic, which none of them is, "
    "so the message is the same"
)

_NO_ENTRIES_IS_FALSE = (
    "by_name.get(name, None) (or get(name)) instead of get(name, []): the result is only "
    "tested by its truth (`if bad:`), and None is false like [], so a parameter without "
    "non-finite entries is left alike"
)
_O_BINARY_IS_WINDOWS_ONLY = (
    "the object, name or default in getattr(os, 'O_BINARY', 0): os.O_BINARY exists on Windows "
    "only, so on POSIX, where this suite runs, every version ORs in 0 (or 1, which "
    "O_WRONLY already is) and opens the temporary alike"
)

_SAMPLE_NEVER_REACHES_DIRECTIONAL = (
    "the key dropped from the keywords given to a Directional mode ('sample' → "
    "'XXsampleXX' or 'SAMPLE'): _refusal has already refused sample= for every mode but "
    "Sample (under auto too), so no given dict that reaches this line holds 'sample', and "
    "no keyword is 'XXsampleXX' or 'SAMPLE' (ModeKeywords has four fixed fields)"
)

_TRACEBACKHIDE = (
    "not equivalent, but caught outside this harness: __tracebackhide__ None or False "
    "makes pytest show assert_gradients' frame in a failure, and "
    "tests/test_pytest_plugin.py::TestPlugin::test_a_failure_shows_no_gradcheck_frame "
    "fails (checked by hand); that test reads the traceback, which under mutmut holds "
    "the trampoline's frames, so pyproject.toml deselects it in mutant runs"
)

_ROUNDOFF_PLACEHOLDER = (
    "the roundoff a Point is first made with (0.0 → None or 1.0): _point returns "
    "point._replace(roundoff=u, ...) on every path that returns, so the first value is "
    "never read"
)

_BOTH_READINGS_LEAVE_KEYS = (
    "the '; unused …' part of a reading shown always (or '' → 'XXXX' when empty): _show "
    "is called only for the error of keys that read two ways, where the exact reading "
    "has unused keys (else it is returned) and the d reading leaves at least one "
    "parameter key unused (the shortest parameter key is no 'd' + another one), so "
    "neither reading is ever shown without unused keys"
)

_ALREADY_BOOL = (
    "np.asarray(fd_error <= (1 + NOISE_SPREAD)·noise) without dtype=bool: a comparison "
    "of NumPy arrays (or of a NumPy scalar) is already bool, so asarray keeps it bool"
)

_ASTYPE_NONE = (
    "astype(None) instead of astype(float) or astype(np.float64): NumPy reads a dtype of "
    "None as its default, float64, so the same array comes out"
)

_H_IS_FLOAT64 = (
    "dtype=np.float64 dropped from the complex step's h or from where(exact > 0, exact, "
    "h), exact being float64: _representable's two callers pass h as float64 "
    "(relative_step, a Python float, times entry_scale's float64 array; noise_steps' "
    "maximum of two such arrays), so the result is float64 already"
)

_NEW_MAG = (
    "np.maximum(mag, floor) into a new array instead of out=mag: mag is entry_scale's "
    "own np.abs(...) copy, never the caller's theta, so the values returned are the same"
)

_FULL_OF_FLOAT = (
    "np.full(shape, float(eps)) without dtype=np.float64: NumPy gives an array filled "
    "with a Python float its default dtype, float64"
)

_SAME_NORM = (
    "the border between the plain sum of squares and the sum scaled by the largest entry "
    "moved (<= for < at exactly NORM2_SQUARES_SAFE or its square; 2·SAFE = 2e-140 for "
    "SAFE² = 1e-280): on both sides of the old and the new border the squares neither "
    "underflow nor overflow, and the two sums give the same norm up to its last bit "
    "(tests/test_steps.py: within 1e-13 from 1e-160 to 1e152), which every caller "
    "compares with margins of many round-offs"
)

_FREE_MASK = (
    "the mask of free entries made as ones of float64 (or set to None, which NumPy "
    "stores as False in a bool array) instead of a bool array: the mask is only read "
    "by np.flatnonzero, which finds the same nonzero entries either way"
)
_BUFFER_RESET = (
    "the direction buffer's free entries set back to None (NaN) or 1.0 instead of 0 "
    "after a probe: the prober reads along[leaf] only on the range it probes, whose "
    "free entries every probe draws anew, and whose left-out entries no probe ever "
    "writes, so no probe sees what is left there"
)

_ALLOWED_FLOAT64 = (
    "np.asarray(tol + SAFETY·e) without dtype=np.float64: a Comparison's tolerance and "
    "fd_error are float64 arrays (gradcheck._comparison builds them so), and their sum "
    "is float64 already"
)
_TRUNCATED_BOOL = (
    "np.asarray(mask) without dtype=bool: the mask is & of comparisons and boolean "
    "arrays (status == 'ok', isnan, ~flat), a bool array already"
)

_ONLY_PLAIN_COUNTS = (
    "another spelling of the default convention 'conjugate': gradcheck._own_slope reads "
    "only whether the convention is 'plain' (sign −1, else 1), which neither spelling is"
)
_EMPTY_IS_FORMULA = (
    "np.max without initial=0.0 raises on an empty array, but an empty parameter never "
    "gets there: its difference d is empty, np.any(d) is False, and it reads 'formula' "
    "first"
)
_TWO_FOUND = (
    "the loop not stopped once two flips are found: every later direction then takes "
    "crossed[: 2 − 2], nothing, so the text names the same two"
)
_NO_COMPARISONS = (
    "a default used only where there is no comparison to rescale: a block in "
    "np.unique(blocks) always has members, and a row (or a list of rows) with no "
    "comparison leaves the loop over them empty, so the value never reaches a result"
)
_NAN_SPELLING = "float('NAN') for float('nan'): Python reads the name case-insensitively, NaN"


_BOOL_ALREADY = (
    "np.asarray(out) without dtype=bool: out is already a bool array (analytic == 0, "
    "np.all(...) and d == 0, joined by &), so the same array comes back"
)
_RICHARDSON_FROM_ITS_TABLE = (
    "exact_zero without the numeric estimate among the differences: compare's callers "
    "(_entries.compare_entries, _jacgrid) pass numeric = first_estimate of the same "
    "stage-1 values, Richardson's (16·R(h/2) − R(h))/15 of the table C(h), C(h/2), "
    "C(h/4), which is exactly 0 whenever the three differences it is given are"
)


_COMPLEX_HAS_NO_NOISE_GAIN = (
    "the widening for a coarser dtype shown (shown > 0) taken for method='complex' too: "
    "its NOISE_GAIN is 0, so the extra round-off, the screen's 3·max(extra, 0) and ν "
    "are 0 either way, and the complex branch reads neither σ nor low_precision (its "
    "entries are never exact zeros, so the resolution from σ is NaN either way)"
)
_SIGMA_IS_FLOAT = (
    "np.asarray(sigma) without dtype=np.float64: sigma is a float or a float64 array "
    "(value_noise returns float64; the engine's σ is a float), which NumPy converts to "
    "float64 either way"
)
_BLIND_COVERS_IT = (
    "the rule 'an ok entry whose SAFETY·e exceeds UNCERTAIN of the scale is uncertain' "
    "skipped (mask never true) or moved to its boundary (>=): the entry is one that "
    "failed the screen (|a − D| > tol ≥ 0; a screened one is set 'ok' after), so its "
    "allowance tol + SAFETY·e and its reach tol + |a − D| + SAFETY·e exceed SAFETY·e, "
    "and the blind rule below makes the same ok entry uncertain (an exact zero has "
    "|a − D| = 0: never one of them)"
)
_ALLOWED_WITHIN_REACH = (
    "allowed_all = tol + SAFETY·fd_error in the blind rule made smaller or unused: "
    "reach = tol + |a − D| + SAFETY·e_all, and e_all ≥ fd_error entry by entry (both "
    "are err where an entry failed the screen; fd_error is 0 elsewhere), so "
    "allowed_all > UNCERTAIN·scale implies reach > UNCERTAIN·scale: the allowance adds "
    "nothing to the reach's test; under fixed=True the blind rule is not applied"
)

_RICHARDSON_BY_THE_OTHER_BRANCH = (
    "Richardson's re-examination taken by the central/forward branch (the method "
    "compared with another spelling): with hh = h/2 there, c1 = C(h/2), c2 = C(h/4), and "
    "its e = |D − (4·c2 − c1)/3| + ν is Richardson's spread |best − R(h/2)| + ν, as "
    "compare's callers pass D = first_estimate, the same best of the same table (bit "
    "for bit: the steps h, h/2, h/4 are exact halvings); its exact zero drops C(h) "
    "from the differences, but D = C(h)/45 when C(h/2) = C(h/4) = 0, so D = 0 gives "
    "C(h) = 0 (values are 0 or at least EXACT_LEAST, never subnormal); RECHECK has no "
    "richardson column, so the rows are the same"
)
_SCREENED_STAY_OK = (
    "the rule 'an ok re-examined entry whose SAFETY·e exceeds UNCERTAIN of the scale is "
    "uncertain' applied under fixed=True instead of without it: without it, the blind "
    "rule below makes the same entries uncertain (see the mutants of that line: "
    "_BLIND_COVERS_IT); with it, allowed = tol, so an entry is ok only where "
    "|a − D| ≤ tol, which is a screened one, and verdict[screened] = 'ok' follows"
)

_RES_IS_NAN_OFF_EXACT = (
    "exact = res <= UNCERTAIN·scale instead of exact &= …: res is np.where(exact, "
    "resolution, nan), NaN wherever exact is False, and NaN <= anything is False, so "
    "the new exact is False there as before and the same test where exact was True"
)

_FIRST_THIRD_DIFFERENCE = (
    "values[:5] for values[:4] in the first half's np.diff(v, n=3)[0]: the first third "
    "difference reads v[0..3] only, the same four values either way"
)

_ZERO_OFFSET_SIGN = (
    "offset <= 0 for offset < 0 in the sign of a kink's offset: they differ only at an "
    "offset of exactly 0, a raw third/outer of 0 that rule 4 did not put at θ (|T| above "
    "OFFSET_NOISE·σ, so T/outer underflowed), where the offset becomes -least for least; "
    "no reader of Comparison.kink or Sites.offset looks at its sign (resolve and "
    "_kinkfree take abs(), _straddled and _nearby test isfinite, != 0, == 0, isnan)"
)

_FINE_IS_BOOL = (
    "np.asarray(fine) without dtype=bool (or with None): fine is np.zeros(n, dtype=bool) "
    "with bools assigned into it, a bool array already"
)

_STEPS_IN_FLOAT64_ANYWAY = (
    "exact_steps(theta, h, None) for np.float64: theta is float64 or narrower, and with "
    "a dtype of None it stays so while h is float64: theta + h and the difference are "
    "then computed in float64 (NumPy promotes; the widening is exact), as with np.float64"
)
_FINE_CAST_AT_THE_END = (
    "np.zeros(n) (float) for np.zeros(n, dtype=bool): True and the bools assigned into "
    "it are 1.0 and 0.0, and np.asarray(fine, dtype=bool) returns the same bools"
)
_NONE_WRONG_HERE = (
    "fine = first != 'wrong' with another string: the branch is taken only where "
    "not np.any(first == 'wrong'), so fine is all True either way"
)

# mut35 (2026-11-28, 14:45 to 16:20): _directional_check, _directional, _localise.
_AT_ZEROS_NONE = (
    "again.entries.get(i, None) (or get(i)) for get(i, ()): at_zeros returns its result "
    "unchanged at once for entries that are falsy (`if not entries`), None as ()"
)
_NO_SCALES_GIVEN = (
    "Prober's scales left out or None: directional_check's only callers (_engine._strategy, "
    "_jacproj) never pass scales, so it is None there anyway"
)
_NAMES_UNREAD = "directional() never reads its names argument (kept for its callers' symmetry)"


EQUIVALENT: dict[str, str] = {
    # mut35: _directional_check
    "gradcheck._directional_check.x__difference__mutmut_4": _NAN_SPELLING,
    "gradcheck._directional_check.x__result__mutmut_38": _NAN_SPELLING,
    "gradcheck._directional_check.x_directional_check__mutmut_120": _AT_ZEROS_NONE,
    "gradcheck._directional_check.x_directional_check__mutmut_122": _AT_ZEROS_NONE,
    "gradcheck._directional_check.x_directional_check__mutmut_13": _NO_SCALES_GIVEN,
    "gradcheck._directional_check.x_directional_check__mutmut_21": _NO_SCALES_GIVEN,
    "gradcheck._directional_check.x_directional_check__mutmut_24": _NAMES_UNREAD,
    "gradcheck._directional_check.x_distinct__mutmut_6": (
        "range(least, 19) for range(least, 18): the loop returns by 17 significant digits, "
        "which tell every two different float64 numbers apart (repr round-trips at 17), so "
        "digits = 18 is never reached"
    ),
    # end mut35: _directional_check
    # mut35: _directional
    "gradcheck._directional.x_directional__mutmut_16": (
        "gmax >= 0 for gmax > 0: they differ only at gmax = 0, where every norm is 0 and "
        "ref is 0 instead of 1.0; a weight is ref/n only where n > ref, so every weight "
        "is 1.0 either way"
    ),
    # end mut35: _directional
    "gradcheck._summary.x_non_finite_failed__mutmut_20": _NO_ENTRIES_IS_FALSE,
    "gradcheck._summary.x_non_finite_failed__mutmut_22": _NO_ENTRIES_IS_FALSE,
    "gradcheck._io.x_write_json_atomic__mutmut_5": (
        "allow_nan=None instead of False: json reads the flag by its truth (`if not "
        "allow_nan`), and None is false: a non-finite key is refused alike (checked)"
    ),
    "gradcheck._io.x_write_json_atomic__mutmut_23": (
        "encode('UTF-8') instead of 'utf-8': codec names are case-insensitive, the same codec"
    ),
    "gradcheck._io.x__temporary__mutmut_12": _O_BINARY_IS_WINDOWS_ONLY,
    "gradcheck._io.x__temporary__mutmut_6": _O_BINARY_IS_WINDOWS_ONLY,
    "gradcheck._io.x__temporary__mutmut_13": _O_BINARY_IS_WINDOWS_ONLY,
    "gradcheck._io.x__temporary__mutmut_14": _O_BINARY_IS_WINDOWS_ONLY,
    "gradcheck._io.x__check_header__mutmut_22": (
        "'US' → 'XXUSXX' in `dtype.kind in ...`: a dtype's kind is one character and no "
        "NumPy kind is 'X', so the test is true for the same kinds, U and S"
    ),
    "gradcheck._io.x__not_an_archive__mutmut_10": _ONLY_THE_NPY_MAGIC_COUNTS,
    "gradcheck._io.x__not_an_archive__mutmut_11": _ONLY_THE_NPY_MAGIC_COUNTS,
    "gradcheck._io.x__read_member__mutmut_17": _ZIP_STOPS_AT_THE_RECORDED_SIZE,
    "gradcheck._io.x__read_member__mutmut_18": _ZIP_STOPS_AT_THE_RECORDED_SIZE,
    "gradcheck._io.x__read_member__mutmut_19": _ZIP_STOPS_AT_THE_RECORDED_SIZE,
    "gradcheck._diagnose.x__labels__mutmut_1": (
        "the default of pair False → True: the only caller (_scattered) always passes pair"
    ),
    "gradcheck._diagnose.x__complex_pattern__mutmut_2": (
        "n / [1, -1] instead of n * [1, -1]: dividing by ±1 is exact, the same array"
    ),
    "gradcheck._diagnose.x__ratio__mutmut_22": (
        "× instead of ÷ by vdot(n̂, n̂) on the overflow path: n̂ = n/‖n‖ has norm 1, so "
        "vdot(n̂, n̂) is 1 to a few ulps and the factor moves by a few ulps, 1e-13 of FIT "
        "and far below the 4 digits its text shows (the JSON factor's last digits may differ)"
    ),
    "gradcheck._diagnose.x__factor_text__mutmut_8": _FACTOR_EDGE,
    "gradcheck._diagnose.x__factor_text__mutmut_28": _FACTOR_EDGE,
    "gradcheck._diagnose.x_diagnose__mutmut_124": _NEAR_ONE,
    "gradcheck._diagnose.x_scaled__mutmut_4": _NEAR_ONE,
    "gradcheck._diagnose.x_scaled__mutmut_17": _C_NEVER_ZERO,
    "gradcheck._diagnose.x__fits__mutmut_11": (
        "scale >= 0 instead of > 0 lets two all-zero vectors fit. diagnose() calls _fits "
        "with both zero only when the judged entries of both gradients are 0 (or none is "
        "judged); every later pattern test then fails too (a transpose or another "
        "parameter's gradient of norm > 0 cannot fit 0), so both versions return the same "
        "_scattered() diagnosis"
    ),
    "gradcheck._summary.x__messages__mutmut_1": (
        "the default of j0 1.0 → 2.0: the only caller (summarise) always passes j0"
    ),
    "gradcheck._summary.x__parameter__mutmut_1": (
        "the default of pair False → True: the only caller (summarise) always passes pair"
    ),
    "gradcheck._summary.x__parameter__mutmut_6": _ANY_NEGATIVE_SIZE,
    "gradcheck._summary.x__zero_within_error__mutmut_13": _ANY_NEGATIVE_SIZE,
    "gradcheck._summary.x_summarise__mutmut_43": _ANY_NEGATIVE_SIZE,
    "gradcheck._summary.x__counted__mutmut_7": _ANY_NEGATIVE_SIZE,
    "gradcheck._summary.x_summarise__mutmut_1": (
        "the default of j0 1.0 → 2.0: the only caller (_entrywise.entrywise) always passes j0"
    ),
    "gradcheck._summary.x_inconclusive__mutmut_28": _STOPPED_STATUS,
    "gradcheck._summary.x_inconclusive__mutmut_33": _STOPPED_STATUS,
    "gradcheck._modes.x__with_keywords__mutmut_34": _SAMPLE_NEVER_REACHES_DIRECTIONAL,
    "gradcheck._modes.x__with_keywords__mutmut_35": _SAMPLE_NEVER_REACHES_DIRECTIONAL,
    "gradcheck._modes.x_sample_indices__mutmut_6": (
        "rng.choice(..., replace=None) instead of replace=False: Generator.choice reads "
        "replace by its truth, and None is false: the same draw without replacement, from "
        "the same stream (checked: 200 seeds, NumPy 2.4.6)"
    ),
    "gradcheck._engine.x__run__mutmut_23": (
        "j0 = base[1] instead of base[0]: _run has returned inconclusive for any pair that "
        "differs, so the two are equal here (NaN never is: NaN != NaN returns above); only "
        "a cost that returns 0.0 and then -0.0 could give a different j0, whose arithmetic "
        "and comparisons are those of 0.0 (only a printed zero in a note may show its sign)"
    ),
    "gradcheck._engine.x_assert_gradients__mutmut_1": _TRACEBACKHIDE,
    "gradcheck._engine.x_assert_gradients__mutmut_2": _TRACEBACKHIDE,
    "gradcheck._engine.x__point__mutmut_20": _ROUNDOFF_PLACEHOLDER,
    "gradcheck._engine.x__point__mutmut_25": _ROUNDOFF_PLACEHOLDER,
    "gradcheck._engine.x__point__mutmut_53": _ROUNDOFF_PLACEHOLDER,
    "gradcheck._engine.x__point__mutmut_60": _ROUNDOFF_PLACEHOLDER,
    "gradcheck._pytree.x__show__mutmut_6": _BOTH_READINGS_LEAVE_KEYS,
    "gradcheck._pytree.x__show__mutmut_13": _BOTH_READINGS_LEAVE_KEYS,
    "gradcheck._tolerances.x__dtype_key__mutmut_9": (
        "size /= 2 instead of //= 2 for a complex dtype: a complex itemsize is even, so "
        "the half is a whole float (4.0, 8.0) and finds the same key of the row table "
        "(4.0 == 4, with the same hash); a size the table lacks gets the default either way"
    ),
    "gradcheck._comparison.x_roundoff_limited__mutmut_2": _ALREADY_BOOL,
    "gradcheck._comparison.x_roundoff_limited__mutmut_4": _ALREADY_BOOL,
    "gradcheck._quotients.x_shown_roundoff__mutmut_2": _ASTYPE_NONE,
    "gradcheck._quotients.x_shown_roundoff__mutmut_17": _ASTYPE_NONE,
    "gradcheck._quotients.x_value_noise__mutmut_32": (
        "mag <= tiny instead of mag < tiny: they differ only where mag is tiny exactly, "
        "and there the floor replaces tiny by tiny"
    ),
    "gradcheck._quotients.x_shown_roundoff__mutmut_8": (
        "reshape(-2) instead of reshape(-1): NumPy (2.4.6, pinned) reads any negative size "
        "as the one unknown dimension, so both flatten every value array alike (checked: "
        "2-d, 0-d and empty arrays)"
    ),
    "gradcheck._steps.x__representable__mutmut_5": _H_IS_FLOAT64,
    "gradcheck._steps.x__representable__mutmut_7": _H_IS_FLOAT64,
    "gradcheck._steps.x__representable__mutmut_19": _H_IS_FLOAT64,
    "gradcheck._steps.x__representable__mutmut_21": _H_IS_FLOAT64,
    "gradcheck._steps.x__representable__mutmut_14": _ASTYPE_NONE,
    "gradcheck._norms.x_norm2__mutmut_20": _SAME_NORM,
    "gradcheck._norms.x_rms_of__mutmut_23": _SAME_NORM,
    "gradcheck._norms.x_rms_of__mutmut_25": _SAME_NORM,
    "gradcheck._steps.x_steps__mutmut_5": _FULL_OF_FLOAT,
    "gradcheck._steps.x_steps__mutmut_8": _FULL_OF_FLOAT,
    "gradcheck._steps.x_entry_scale__mutmut_32": _NEW_MAG,
    "gradcheck._steps.x_entry_scale__mutmut_35": _NEW_MAG,
    "gradcheck._steps.x_noise_steps__mutmut_14": (
        "not sigma >= 0 instead of not sigma > 0: they differ at sigma = 0 only, where the "
        "mutant goes on to rel = 0 and the step max(0, base) = base, made representable: "
        "steps(theta, method, None, dtype), what the original returns"
    ),
    "gradcheck._steps.x_noise_steps__mutmut_26": (
        "np.errstate(over=None) instead of over='ignore' around ratio ** (1/(p+1)): a "
        "power of at most 1/2 of a float64 never overflows (a finite ratio's root is "
        "finite, inf's is inf without a warning), so nothing is there to ignore"
    ),
    "gradcheck._tolerances.x__dtype_key__mutmut_15": (
        "the row table's key 8 → 9: an 8-byte size then takes .get's default, which is "
        "'float64' too, the row the key named; no NumPy float has a 9-byte part"
    ),
    "gradcheck._kinksearch.x_search__mutmut_12": _FREE_MASK,
    "gradcheck._kinksearch.x_search__mutmut_14": _FREE_MASK,
    "gradcheck._kinksearch.x_search__mutmut_15": _FREE_MASK,
    "gradcheck._kinksearch.x_search__mutmut_53": _BUFFER_RESET,
    "gradcheck._kinksearch.x_search__mutmut_54": _BUFFER_RESET,
    "gradcheck._sharp.x__allowed__mutmut_2": _ALLOWED_FLOAT64,
    "gradcheck._sharp.x__allowed__mutmut_4": _ALLOWED_FLOAT64,
    "gradcheck._sharp.x_truncated__mutmut_9": _TRUNCATED_BOOL,
    "gradcheck._sharp.x_truncated__mutmut_11": _TRUNCATED_BOOL,
    "gradcheck._own_slope.x__reading__mutmut_17": (
        "base − sign·h·unit for base + sign·h·unit: sign runs over both 1 and −1, so the "
        "same two points are read in the other order; their mean slope and the gap "
        "between the two one-sided slopes do not depend on the order, nor does a step "
        "that cannot move or raises (NaN either way)"
    ),
    "gradcheck._own_slope.x__reading__mutmut_44": _NAN_SPELLING,
    "gradcheck._own_slope.x__reading__mutmut_54": _NAN_SPELLING,
    "gradcheck._own_slope.x__reading__mutmut_69": _NAN_SPELLING,
    "gradcheck._own_slope.x__real__mutmut_7": (
        "astype(None) for astype(np.float64): NumPy reads a dtype of None as float64"
    ),
    "gradcheck._own_slope.x_own_slope__mutmut_1": _ONLY_PLAIN_COUNTS,
    "gradcheck._own_slope.x_own_slope__mutmut_2": _ONLY_PLAIN_COUNTS,
    "gradcheck._own_slope.x_own_slope__mutmut_52": _EMPTY_IS_FORMULA,
    "gradcheck._own_slope.x_own_slope__mutmut_54": _EMPTY_IS_FORMULA,
    "gradcheck._adapter_verdicts.x_judge_float64__mutmut_1": _ONLY_PLAIN_COUNTS,
    "gradcheck._adapter_verdicts.x_judge_float64__mutmut_2": _ONLY_PLAIN_COUNTS,
    "gradcheck._points.x__flipped__mutmut_6": _ANY_NEGATIVE_SIZE,
    "gradcheck._points.x__flipped__mutmut_8": (
        "astype(None) for astype(np.float64): NumPy reads a dtype of None as float64"
    ),
    "gradcheck._points.x__flipped__mutmut_39": _TWO_FOUND,
    "gradcheck._points.x__flipped__mutmut_40": _TWO_FOUND,
    "gradcheck._points.x__label__mutmut_3": (
        "np.unravel_index(flat, ()) for a scalar's shape () instead of (): NumPy returns "
        "() for it, the same empty index, and the label is the name alone either way"
    ),
    "gradcheck._jacscale.x_on_block_scale__mutmut_9": _NO_COMPARISONS,
    "gradcheck._jacscale.x_on_block_scale__mutmut_10": _NO_COMPARISONS,
    "gradcheck._jacscale.x_zero_rows__mutmut_13": _NO_COMPARISONS,
    "gradcheck._jacscale.x_zero_rows__mutmut_19": _NO_COMPARISONS,
    "gradcheck._jacscale.x_zero_rows__mutmut_23": _NO_COMPARISONS,
    "gradcheck._jacscale.x_zero_rows__mutmut_26": _NO_COMPARISONS,
    "gradcheck._jacscale.x_zero_rows__mutmut_7": _NO_COMPARISONS,
    "gradcheck._compare.x_exact_zero__mutmut_22": _BOOL_ALREADY,
    "gradcheck._compare.x_exact_zero__mutmut_24": _BOOL_ALREADY,
    "gradcheck._compare.x_compare__mutmut_114": _RICHARDSON_FROM_ITS_TABLE,
    "gradcheck._compare.x_compare__mutmut_36": _COMPLEX_HAS_NO_NOISE_GAIN,
    "gradcheck._compare.x_compare__mutmut_37": _COMPLEX_HAS_NO_NOISE_GAIN,
    "gradcheck._compare.x_compare__mutmut_281": _SIGMA_IS_FLOAT,
    "gradcheck._compare.x_compare__mutmut_283": _SIGMA_IS_FLOAT,
    "gradcheck._compare.x_compare__mutmut_318": _BLIND_COVERS_IT,
    "gradcheck._compare.x_compare__mutmut_319": _BLIND_COVERS_IT,
    "gradcheck._compare.x_compare__mutmut_321": _BLIND_COVERS_IT,
    "gradcheck._compare.x_compare__mutmut_215": _RICHARDSON_BY_THE_OTHER_BRANCH,
    "gradcheck._compare.x_compare__mutmut_216": _RICHARDSON_BY_THE_OTHER_BRANCH,
    "gradcheck._compare.x_compare__mutmut_314": _SCREENED_STAY_OK,
    "gradcheck._compare.x_compare__mutmut_391": _ALLOWED_WITHIN_REACH,
    "gradcheck._compare.x_compare__mutmut_392": _ALLOWED_WITHIN_REACH,
    "gradcheck._compare.x_compare__mutmut_393": _ALLOWED_WITHIN_REACH,
    "gradcheck._compare.x_compare__mutmut_394": _ALLOWED_WITHIN_REACH,
    "gradcheck._compare.x_compare__mutmut_428": _RES_IS_NAN_OFF_EXACT,
    "gradcheck._kinks.x__table_estimates__mutmut_15": _FIRST_THIRD_DIFFERENCE,
    "gradcheck._kinks.x_locate__mutmut_88": _ZERO_OFFSET_SIGN,
    "gradcheck._stairs.x__below_stairs__mutmut_9": _STEPS_IN_FLOAT64_ANYWAY,
    "gradcheck._stairs.x__below_stairs__mutmut_48": _STEPS_IN_FLOAT64_ANYWAY,
    "gradcheck._stairs.x__below_stairs__mutmut_88": _FINE_CAST_AT_THE_END,
    "gradcheck._stairs.x__below_stairs__mutmut_90": _FINE_CAST_AT_THE_END,
    "gradcheck._stairs.x_between_stairs__mutmut_18": (
        "steps(..., None) for np.float64: relative_step reads a dtype of None as float64's "
        "(np.finfo(None)), and _representable's theta + h with theta float64 or narrower "
        "and h float64 is computed in float64, as with np.float64 (NumPy promotes exactly)"
    ),
    "gradcheck._stairs.x_between_stairs__mutmut_26": _ANY_NEGATIVE_SIZE,
    "gradcheck._stairs.x_between_stairs__mutmut_76": _ANY_NEGATIVE_SIZE,
    "gradcheck._stairs.x_between_stairs__mutmut_50": _NONE_WRONG_HERE,
    "gradcheck._stairs.x_between_stairs__mutmut_51": _NONE_WRONG_HERE,
    "gradcheck._stairs.x__below_stairs__mutmut_112": _FINE_IS_BOOL,
    "gradcheck._stairs.x__below_stairs__mutmut_114": _FINE_IS_BOOL,
    "gradcheck._kinks.x_exact_steps__mutmut_7": (
        "astype(None) for astype(np.float64): NumPy reads a dtype of None as float64"
    ),
}

# mut36 (issue 16): the data, state and exit-code modules, one block per module.

# _user_arrays
_ONE_CHARACTER_KIND = (
    "'XX…XX' around the kinds in `dtype.kind in ...`: a dtype's kind is one character "
    "and no NumPy kind is 'X', so the test is true for the same kinds"
)
EQUIVALENT.update(
    {
        "gradcheck._user_arrays.x__same_bits__mutmut_11": _ONE_CHARACTER_KIND,
        "gradcheck._user_arrays.x__same_bits__mutmut_23": _ONE_CHARACTER_KIND,
    }
)
EQUIVALENT["gradcheck._user_arrays.xǁKeptǁ__init____mutmut_12"] = (
    "return for break when SAVED_ARRAYS arrays are held: the loop is the last statement "
    "of __init__, so both leave it with the same arrays saved"
)

# _plan
_NO_SAMPLE_KEYWORD_HERE = (
    "another string for 'sample' in _mode_options' last line: it runs only for a Full "
    "mode (Sample and Directional return above), and resolve_mode (make_plan's call, "
    "before) refuses the sample keyword for any mode but Sample (_modes._refusal), so "
    "the keywords given there never hold 'sample'"
)
EQUIVALENT.update(
    {
        "gradcheck._plan.x__mode_options__mutmut_7": _NO_SAMPLE_KEYWORD_HERE,
        "gradcheck._plan.x__mode_options__mutmut_8": _NO_SAMPLE_KEYWORD_HERE,
    }
)
EQUIVALENT["gradcheck._plan.x__read_only_twin__mutmut_6"] = _ANY_NEGATIVE_SIZE
_SAME_OBJECT_PUT_BACK = (
    "d.get(None …) or d.get(k) for d.get(k, None) in restore: get's default is None "
    "already, and where the test reads another key the saved array is assigned to its "
    "key again; assigning a plain dict's key the object it holds changes neither its "
    "contents nor its order (Kept keeps plain dicts only)"
)
EQUIVALENT.update(
    {
        "gradcheck._user_arrays.xǁKeptǁrestore__mutmut_6": _SAME_OBJECT_PUT_BACK,
        "gradcheck._user_arrays.xǁKeptǁrestore__mutmut_7": _SAME_OBJECT_PUT_BACK,
        "gradcheck._user_arrays.xǁKeptǁrestore__mutmut_8": _SAME_OBJECT_PUT_BACK,
    }
)
