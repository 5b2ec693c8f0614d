"""Mutation testing of the verdict code: ``make mutate`` (issue 16).

mutmut (pinned in ``constraints.txt``; configured in ``pyproject.toml``'s
``[tool.mutmut]``) makes the mutants of the modules that decide verdicts, protect user
data or set exit codes; ``tools/mutate_direct.py`` runs the tests against each of them;
then this writes ``docs/testing.md``: the score of each module, and every surviving
mutant either listed with the reason it is equivalent
(:data:`tools.mutation_equivalents.EQUIVALENT`) or listed as a gap in the tests, with
its diff. Issue 16's twelve hand mutations (``tools/hand_mutations.py``) are run first
and reported too. The suite runs as it is: nothing in it is special-cased for mutants.

Usage::

    python tools/mutate.py                 # hand mutations, then every module of MODULES
    python tools/mutate.py _diagnose _io   # some modules (no hand mutations)
    python tools/mutate.py --report-only   # rewrite docs/testing.md from mutants/
    python tools/mutate.py _modes --first-stage-only  # mirror file only: no test map

**Resumable, module by module.** Each mutant's result is saved in ``mutants/`` the
moment it is known, so a run stopped at any point (Ctrl-C, a reboot) loses at most the
mutant in flight, and the next run carries on with the mutants that have no result. A
module whose mutants all have one is skipped. mutmut resets the results of a function
whose source changed when ``mutants/`` is regenerated (first thing in every run).
``mutants/`` is not committed, so a new machine starts with none: a module it holds no
results for keeps the row, timing line and survivors' section the page already gave it,
its target cell marked "(earlier run)", and a hand mutation without a result keeps its
row (``tools/mutate_earlier.py``); running the module again replaces them.

**From a fresh clone** (``git clone``, then ``make mutate MODULES=_io``; measured on
the shared 2-core machine under a load of 8 to 10, 2026-11-27), ``make`` first builds
``.venv`` with every extra and mutmut (6 minutes: pip from the local wheels), then
``tools/mutate.py`` prints ``mutants made or brought up to date in 15 s`` (only the
modules asked for are mutated: all 39 took over 18 minutes), ``_io: running 274 mutants``,
then ``test map made in 3332 s; left out, failing:
['tests/test_layering.py::test_the_core_imports_numpy_only[_io]']`` (the whole suite
once, in mutmut's stats mode, with only ``_io`` mutated: 56 minutes under that load;
the layering test fails there because a mutated module imports mutmut), ``clean runs:
mirror 0 in 5 s; of 84 mapped tests, …`` and one line per mutant (``2/274
gradcheck._io.x__check_header__mutmut_10 -> 0 (10.8 s)``; code 1 killed, 0 survived, 34
skipped, 36 timeout: 1 to 11 s a mutant; stopped after 30 of 274, 24 killed), then
each module's score and ``wrote docs/testing.md``. The test
map is made again only for a module it lacks.

**This stop's runs** (2026-11-28, 14:45 to 16:15, on ``mutants/`` of the stop before;
the shared 2-core machine under a load of 7 to 14, at ``nice -n 15``), all
``--first-stage-only``, the verdict modules that decide directional verdicts first. The
mirror files of ``_directional``, ``_localise`` and ``_precision`` imported torch (in a
test, or at the top): their torch tests moved unchanged to ``tests/test_directional_torch.py``,
``tests/test_localise_torch.py`` and ``tests/test_precision_torch.py``, so a forked
mutant imports NumPy only. Tests were written ahead of each run, reading a module's
result whole on each of its branches (every status, note, number and evaluation, on
small seeded cases, floats to 1e-9), and its helpers on hand-made records with each
bound met exactly. ``_directional_check``, never run before: 438 mutants, 14:49 to
15:37, 1 to 8 s a mutant. Its mirror file had 7 tests; the first 29 mutants ran on it
(25 passed), then on the tests written ahead (39: 13 directional reports read whole,
from a right gradient to a cost not finite at a move; ``_difference``, ``_worst``,
``_status``, every note, ``_diagnosis``, ``_summary`` and ``_result`` on hand-made
probes) the mirror file passed 19 of the other 409; a rerun of every survivor on the
tests added meanwhile (a cost in float32 inside, a spent budget's region, a tiny input
of ``check_jacobian``'s fold, an overflowing ``a − R``) left 11: 8 are equivalent (NaN
spelled ``NAN``, ``at_zeros`` of None, ``scales`` that no caller passes,
``directional()`` never reading ``names``, ``distinct``'s 18th digit, never reached),
3 got cases (a single wrong parameter unlocalised, two tiny parameters' notes, float32
values of float64 parameters) and the rerun killed them. ``_stairs``: the 12
``confirmed`` mutants the run before left (rule 1's round-off floor, its dtype, its
note) were killed by a spy on ``sharp.confirm`` (what rule 1 is given, and the note
for a given count) and the staircase of ``K = 3e5``, whose right gradient passes with
rule 1's note. ``_directional``, never run before:
134 of its 308 mutants (``_judged``, ``_straddles``, ``detectable`` and the first 94 of
``directional``), 15:41 to 16:11, 2 to 15 s a killed mutant and 60 to 510 s a survivor
(the mirror file takes 135 s clean). Tests written ahead read ``directional`` whole on 14
cases (a right and a wrong gradient, ``miss``, ``rtol``, a parameter below and at
``CLIP``, a cost exactly 0, a flat one, one not finite at a move, exact zeros at a kink,
a zero and an empty parameter, the probes alone after a kinked verdict) and ``erfinv``
and ``detectable`` exactly. The mirror file passed 6: 1 is equivalent (``gmax >= 0``),
4 got a case (one of two directions across a kink, an ``rtol`` beside a zero
parameter) and each failed it with the mutant active (``pytest -k`` on those cases, as
the driver's clean runs of 270 s did not fit), 1 is not killed (``rng.spawn(2)[0]`` in
``_straddles``: it changes only a second straddle test's direction, which decides
nothing unless one direction meets a kink the other misses); its other 174 mutants
are the row's "to run". Tests were written
ahead, and not yet run against mutants, for ``_localise`` (15 localisations read whole:
one and two wrong entries, each diagnosis, a dense error, a spent budget, more than
``FANOUT`` parameters, one parameter with the verdict's probes), ``_entrywise`` (16
full-mode reports read whole: mixed float16/32/64 parameters, sample mode, a fixed
tolerance, a zero parameter, kinks with a gradient function and an array, a
staircase, the complex step) and ``_precision`` (``cost_noise`` on 11 costs of each
precision, its helpers at their bounds). A float32 staircase whose claim is round's
own derivative (0 between the stairs) fails in float32 while it passes in float64
(reported to the verdict lane, not fixed here).

**A second lane the same afternoon** (14:46 to 16:17, its own copy of ``mutants/``, the
same load and flags; its modules' results copied into this ``mutants/`` for the page):
``_summary``'s 400 left (478/478 now checked, 100%: 11 equivalent, as listed before);
``_engine`` (231 mutants: ``check()`` is decorated and no longer mutated; 8 killed by
new cases in ``tests/test_engine.py``, among them the float32 floor where the cost's
values do not move, whose mutant failed a right gradient; 1 not killed: the strategy
reading the stack's second copy of θ, which only a batched cost whose rows depend on
their place in the stack could tell); ``_plan``, never run and without a mirror file
(new ``tests/test_plan.py``: ``make_plan`` read whole; 7 killed by it, 3 equivalent);
``_user_arrays`` (68 mutants: 1 not killed, ``_same_bits`` comparing complex numbers
bit for bit, which was a real defect: a ``-0.0`` written into a complex64 array was
not put back; fixed since, and the row is of the code before the fix); ``_pytree``'s
structure and builder (166 run; 29 passed the mirror file and a new read-whole class
killed all 29; its other 334 are the row's "to run"). The mirror files of
``_evaluate`` and ``_inputs`` imported torch: their torch and Dask tests moved unchanged
to ``tests/test_evaluate_torch.py``, ``tests/test_inputs_torch.py`` and
``tests/test_inputs_dask.py``.

**The runs of 2026-11-28, 11:43 to 13:08** (on ``mutants/`` of the stop before;
the shared 2-core machine under a load of 7 to 10, at ``nice -n 15``, 2 to 4 s a killed
mutant, 20 to 40 s a survivor), ``--first-stage-only``. ``_compare``: the last 113
mutants of ``compare`` (its kink and re-examination rules, the complex step, the blind
rule's allowance, the exact zero's resolution, the result's step), 11:43 to 12:00; its
helpers' 155 mutants were not run again (unchanged since their complete run of 05:45 to
07:15, every one killed or equivalent there), and are the row's "to run". The mirror
file passed 10 (the last, 495, ran only after the tests below): 5 are equivalent (4 from
the runs before, at the same numbers; 1 new: ``exact = res <= …`` for ``exact &= …``, as
``res`` is NaN off the exact entries), 5 got a test in ``tests/test_compare.py`` and the
rerun killed them (the complex step's allowance ``tol + SAFETY·e`` met exactly;
``Comparison.step`` left out, not float64, or None). ``_kinks``, never run before: 425
mutants, 12:01 to 12:37. Tests written ahead read ``locate`` whole on 24 hand-made
entries (each bound of rules 1, 2 and 4 met exactly: a jump that persists by exactly
``PERSISTS``, is exactly ``JUMP_NOISE`` noise slopes or the tolerance, ``|T|`` exactly
``OFFSET_NOISE·σ``, an offset clipped either way or infinite, the least offset, a kink
beyond ``h/2``, a claim on each bound of the bracket and of its widening), ``messages``
and ``_unjudged`` whole for each branch, ``_straddled``, ``_table_estimates``,
``below_resolution``, ``exact_steps`` and ``resolve`` (the steps of each level, in
float32; what each entry keeps). The mirror file passed 25: 22 got tests (the ones
above, written as the run went, and ``table_noise``'s bounds: a whole exactly ``KINKED``
times its halves, at most ``NARROWER`` narrower tables) and the rerun killed every one;
3 are equivalent (a first third difference read from 5 values, the sign of an offset of
exactly 0, which no reader looks at, ``astype(None)``). ``_nearby`` (12:47): its mirror
file imports torch, so each forked mutant imports it again (17 to 23 s a killed mutant):
stopped after 4 of ``_settle``'s mutants (killed), its other 553 are the row's "to run"
(its one torch test, with its helper, then moved to ``tests/test_nearby_torch.py``, as
was done for ``tests/test_user_rng.py``: the next run's children import NumPy only);
``Tally``, ``_several`` and ``_targets`` got tests read whole ahead of it. ``_stairs``,
never run before: 279 mutants, 12:50 to 13:03, 2 to 6 s a mutant. The mirror file passed
54: 31 got tests in ``tests/test_stairs.py`` and the rerun killed them
(``_below_stairs`` read whole: the steps of each level, an entry with no step below θ's
spacing at either level, the floor passed on, the entries past the first ``CONFIRM``, no
evidence where the second step agrees with differences of 0, disagrees or finds one
wrong; ``between_stairs``' two notes whole, a parameter without wrong entries before one
with them, exactly ``CONFIRM`` wrong entries checked once, a claim ok in float64 with a
nonzero mismatch, the rest's wrong entries kept, float64's steps of a float32 matrix);
11 are equivalent (dtypes of None where the arithmetic is float64's anyway, a bool array
cast to bool, reshape(-2), a mask that is all True in its branch); 12, all in
``confirmed`` (rule 1's wrapper: its round-off floor ``u·|J0|``, the dtype given to
``sharp.confirm``, its note), are not killed: they need a check whose confirmation
writes the note, which no test reads yet. No survivor showed a wrong verdict of the
library.

**The runs of 2026-11-28, 09:00 to 10:36** (on a fresh ``mutants/``; the
shared 2-core machine under a load of 6 to 11, at ``nice -n 15``): ``_compare`` again,
``--first-stage-only``, as ``compare`` had changed since its run (core's staircase and
bump rules: 495 mutants now, 489 then) and its kink and re-examination rules had not
run. The run first took 20 s a killed mutant: pytest parsed the whole mutated file,
which holds every mutant of the module, for each frame of the traceback it printed to
a discarded output (40 s of a 42 s mutant, 7.8 s of CPU); a mutant's run is
``--tb=no`` now (2.5 to 4 s a killed mutant), and the mirror file's tests that were
first to fail for most of the module's mutants run first. ``compare``'s first 383
mutants (every rule up to the blind rule, in line order) ran in 4872 s; the rest of
``compare`` (112) and its helpers (155, all killed or equivalent in the run before)
are the row's "to run". The mirror file passed 15: 4 got a test and the rerun killed
them (``compare``'s forward exact zero reading the one-sided difference, ``C(h)`` and
``C(h/2)``: t² at 0 is no exact zero, and with ``C(h/2)`` left out the claim of 0
for an odd bump inside the step, whose slope is 1, *passed*; the re-examined
allowance met exactly), 11 are equivalent (8 from the run before, at the same
numbers; 3 new: Richardson's re-examination taken by the central branch gives the
same spread, and the ``SAFETY·e`` rule under ``fixed=True``, where only screened
entries are ok). No survivor showed a wrong verdict of the library itself. Then
``_summary``'s two functions changed since its complete run of 2026-11-27 (441 of 441,
10 equivalent), ``non_finite_failed`` and ``_counted`` (78 mutants, 10:27 to 10:36):
the mirror file passed 3, all equivalent (a list default read by its truth, a
reshape(-2)); its other 400 mutants, of functions unchanged since that run, are the
row's "to run". ``_stairs`` joined ``MODULES``; ``_kinks``, ``_nearby``,
``_entrywise``, ``_directional``, ``_directional_check``, ``_localise``,
``_precision``, ``_sharp`` and ``_stairs`` were mutated but not run.

**The runs of 2026-11-28, 05:45 to 07:15** (on a fresh ``mutants/``; the
shared 2-core machine under a load of 7 to 10, 1 to 60 s a mutant at ``nice -n 15``):
``_numerics`` and ``_compare``, ``--first-stage-only``. ``_numerics`` holds constants
only, and mutmut 3.8.1 mutates functions: it has no mutants (issue 16's hand mutations
of its constants are run by ``tools/hand_mutations.py``). ``_compare``'s first run
met two faults of this driver: at a load of 9 a mutant at ``nice -n 15`` got a tenth
of a core, and every one ran past the 90 s clock limit and was counted caught (the
limit is on the child's CPU seconds now, ``mutate_direct.WALL_FACTOR`` times that on
the clock); and the mirror file starts with its slowest, end-to-end tests, so a
killed mutant took 20 to 25 s to reach its first failing test (the mirror file now
runs fastest test first, by its clean run's times: 1 to 3 s at a load of 5). Tests
written ahead in ``tests/test_compare.py`` read ``compare`` whole for each method on
separable costs at 0 whose values follow from their Taylor series (``t + t³``: central
differences ``1 + h²``, Richardson's ``R = 1``), and ``gradient_scale``, ``tolerance``,
``examined`` and ``exact_zero`` with each bound met exactly (dyadic numbers). Every
mutant of ``examined`` (71), ``exact_zero`` (24), ``gradient_scale`` (20),
``tolerance`` (39) and ``_verdicts`` (1) ran, then 162 of ``compare``'s 489: the 80
that read its later rules (the shown dtype, the exact zero's resolution, the blind
rule, the unresponsive rule, overflow, the peak; chosen from their diffs), then
``compare``'s from its first line on, as far as the stop allowed (the row's "to run":
327 of ``compare``'s later mutants in line order, its kink and re-examination
rules). The mirror file passed 18: 4 got tests and the rerun killed them
(``compare``'s default ``floor``, the fixed rule's lack of a reach rule, Richardson's
exact zero read from its table, a zero entry's resolution among values of a coarser
dtype), 14 are equivalent (listed below: a bool array cast
to bool, Richardson's estimate of its own table, the widening of the complex step,
whose noise gain is 0, a float64 σ made float64, and two rules that the blind rule
covers). No survivor showed a wrong verdict.

**The runs of 2026-11-28, 03:00 to 04:30** (on a fresh ``mutants/``; the shared
2-core machine under a load of 5 to 10, 3 to 60 s a mutant): the verdict modules no run
had mutated, most verdict-relevant first, all ``--first-stage-only``; ``_kinksearch``,
``_sharp``, ``_own_slope``, ``_adapter_verdicts`` and ``_directional_probe`` joined
``MODULES``. ``python tools/mutate.py _kinksearch _sharp --first-stage-only``: 204
mutants in 20 minutes; the mirror files passed 17 of ``_kinksearch``'s 86 (the search's
edges: the first entry, exactly ``limit`` entries, exactly the budget, a parameter left
out whole, the seeded float32 draws) and 16 of ``_sharp``'s 118 (each bound of
``truncated`` and ``sharpen`` met exactly, settles counted over levels, float32 steps,
exact zeros); tests for them went into the mirror files (first in the file, so that a
rerun stops early) and ``python tools/mutate_direct.py <module> --first-stage-only
--only <survivors>`` killed all 24; 9 are equivalent. ``_own_slope`` (189 mutants, its
mirror file 70 s clean: it checks torch and JAX models) passed 18: a complex
parameter's real and imaginary parts moved as the difference does, a move of exactly
1, a float32 move measured exactly, steps relative to a scale below 1 (9, killed by the
rerun) and 9 equivalents. ``_adapter_verdicts`` had no mirror file:
``tests/test_adapter_verdicts.py``, written ahead, reads ``judge_float64`` whole on NumPy
sides (the floor, which gradient is checked, every note, the loss's own slope with the
user's RNG reset, a reference's verdicts, the nudges); of 158 mutants it passed 7 (an
empty parameter, a floor below 1, two unmoved parameters named, a systematic parameter
before another: 5 killed by the rerun; 2 equivalent). ``tests/test_user_rng.py`` is NumPy only
now (its torch tests are in ``tests/test_user_rng_torch.py``): 1 s instead of 14 s a
mutant. ``python tools/mutate.py _points _jacscale --first-stage-only`` (259 mutants in
6 minutes; tests written ahead: every part of the messages, ``zero_rows`` and
``on_block_scale`` on hand-made rows): ``_points`` passed 7 (2 killed by new tests, 5
equivalent), ``_jacscale`` 13 (6 killed, 7 equivalent: defaults where no comparison is
left to rescale). Mirror tests were written ahead for ``_directional_probe`` (the
probe's numbers from the module doc's formulas, each bound of ``_kinked`` and
``Probe.judged``), ``_adapter_consistency`` and ``_rng``, whose runs did not fit in this
stop. ``_sharp`` gained ``unkinked`` (core28, a4be7e8) after its run: its
mutants are the row's "to run".

**The runs of 2026-11-28, 00:00 to 01:10** (on a fresh ``mutants/``; the shared
2-core machine under a load of 10 to 12): the modules split out of ``_numerics`` and
``_compare`` and the adapters' float32 verdict, which no run had mutated, most
verdict-critical first, all ``--first-stage-only`` (no test map).
``python tools/mutate.py _roundoff_verdict _tolerances _comparison --first-stage-only``,
then ``python tools/mutate.py _quotients _steps _norms --first-stage-only``: 849
mutants in 3551 s (4.2 s a mutant; ``_roundoff_verdict`` 7.2 s, the others 2 to 4 s).
The mirror files were thin (the split modules' behaviour was tested through
``check()`` elsewhere): ``_roundoff_verdict``'s passed 57 of 234, as no test read a
whole ``Verdicts`` (the notes' numbers, the reproduced set, the nudge path's failure
text and unmoved parameters, the loss bound, None gradients, a dtype NumPy lacks,
every bound of ``judge`` met exactly). Tests for each went into the mirror files
(written ahead of the runs for the other five: exact values, each bound met exactly,
float32 inputs giving float64 results, the user's ``np.seterr`` not reaching the norms),
and ``python tools/mutate_direct.py <module> --first-stage-only --only <survivors>``
killed every one that was no equivalent: ``_roundoff_verdict`` 57 of 57; ``_tolerances``
2 (2 equivalent), ``_comparison`` 1 (2), ``_quotients`` 9 (4), ``_steps`` 4 (11: the
``dtype=np.float64`` of arrays that are float64 already), ``_norms`` 7 (3: the border
between the plain and the scaled sum of squares): 100% each.

**The runs of 2026-11-27, evening** (on a fresh ``mutants/``; the shared 2-core
machine under a load of 12 to 19). The ``_summary``, ``_diagnose`` and ``_io`` rows are
from the stop before (marked "earlier run"; their ``mutants/`` is gone). No test map was
made (the whole suite once, over an hour at this load): every run is
``--first-stage-only``, so a survivor of the mirror file is *skipped* until a test kills
it. ``python tools/mutate.py _modes --first-stage-only``: 225 mutants in 1440 s (6.4 s a
mutant); the mirror file ``tests/test_modes.py`` passed 43. 40 of them (option errors
whose text or edge values no test read: ``budget=0``, ``miss_probability`` 0 and 1,
``Sample(1)``, ``Sample(1.0)``; a sample drawn with replacement; a parameter sampled
whole that drew from the shared generator; NumPy scalars left in a mode object) got
tests there, and ``python tools/mutate_direct.py _modes --first-stage-only --only …``
killed all 40 (435 s); the other 3 are equivalent: 100%. ``_engine`` and ``_pytree``
ran with ``tools/mutate_direct.py <module> --first-stage-only --only …`` (the verdict's
functions first; what a module's row calls "to run" was not reached). ``_engine``: 212
of 339 (``_run``, ``_nondeterministic``, ``assert_gradients``, ``_point``: 144 in 2081 s;
``_strategy``: 68 in 808 s with 24 reruns); ``check`` (127: it passes the options on)
not run. The mirror file passed 31 of the first 144: 24 got tests in
``tests/test_engine.py`` (the whole stop messages; NaN entries counted once; when the
float64 route is not taken; the cost's own round-off beside a parameter's;
``assert_gradients``' options) and the reruns killed all 24; 7 are equivalent (two,
``__tracebackhide__``, are caught by the pytest-plugin test the harness deselects). Of
``_strategy``'s 68, 21 passed it; tests (an executor's cost, the hidden-float32 probe,
the complex step's, localisation) killed 10; 11 are open (listed below: the
directional check's round-off and ``rtol``, the probe's seed, ``work`` in the result):
94.6%. ``_pytree``: 196 of 488 (``_read_keys``, ``_is_d_key``, ``_extra``, ``_show``,
``match_gradient`` up to its 66th mutant, ``_closure_builder``'s first 12), 3516 s;
whole-message tests in ``tests/test_pytree.py`` written first; 4 passed the mirror
file, 2 got a test and were killed, 2 are equivalent: 100%.

**The property tests' examples** do not depend on what is collected:
``python tools/property_examples.py`` hashes every example each property test draws
(its hypothesis choice sequence) with the whole suite collected, with its file alone
and with the test alone, and compares them. On 2026-11-27, with ``--max-examples 10``
(17 minutes under a load of 10), all 21 property tests drew the same examples in the
three collections; the full-size run (every property's own example count) was not made.

**Why not ``mutmut run``.** It lists the whole suite (8 minutes on the shared 2-core
machine) and then runs the whole suite once in its "stats" mode with ``-x`` before it
tests a single mutant; one test that fails under its trampoline ends the run with
"failed to collect stats. runner returned 1", and it did. ``tools/mutate_direct.py``
does the same work in a form that survives that: its test map is made without ``-x``
(a failing test is left out and named), and each mutant runs its module's mirror test
file first, then every other test the map says reaches the mutated function.

**The knobs** (``[tool.mutmut]``; the measured time of a mutant is in
``docs/testing.md``):

- ``dependency_tracking_depth = 6``: a test is mapped to a function it reaches through
  at most 5 mutated callers (a helper of ``compare`` is 4 below ``check``:
  ``check -> _check_leaves -> compare_entries -> compare``), not to every function it
  passes through 10 calls deep. A survivor runs all of its mapped tests, so this bounds
  what a survivor costs, while the end-to-end sensitivity tests (``check()`` on a wrong
  gradient) still reach the comparison helpers.
- ``only_mutate``: the modules of ``MODULES`` below: the issue's list (comparison,
  numerics, engine, modes, directional, localisation, diagnosis, summary, evaluation,
  pytree, adapters, io, cli), the modules the engine was later split into (``_plan``,
  ``_entrywise`` and what it was split into (``_entries``, ``_retry``), ``_build``,
  ``_directional_check``), the verdict rules added since (``_precision``,
  ``_float64_route``, ``_nearby``, ``_kinks``), what keeps a torch model's state intact
  (``_torch_state`` and what it was split into: ``_torch_rng``, ``_torch_cast``,
  ``_torch_jvp``), the adapters' shared precision routes and tolerances
  (``_frameworks``, ``_adapters``, ``_complex``, ``_torch_function``), and the Jacobian
  and Hessian checks, whose verdicts are the user's too (``_jacobian``, ``_jacgrid``,
  ``_jacproj``, ``_jacdiag``, ``_linear`` (and what it was split into: ``_flat_values``,
  ``_jacmatrix``, ``_layout``), ``_consistency``, ``_hessian``), and what the later
  splits made of these: ``_numerics`` into ``_steps``, ``_tolerances`` and ``_norms``;
  ``_entrywise`` into ``_rechecks``; ``_torch_function`` into ``_torch_autograd``;
  ``_hessian`` into ``_hessian_words``;
  ``_compare`` into ``_quotients`` and ``_comparison``; ``_evaluate`` into ``_points``
  and ``_rng`` (with ``_user_rng``, which restores the user's generators, and ``_user_arrays``,
  which restores the user's arrays); ``_adapters``
  into ``_adapter_consistency``; ``_jacgrid`` into ``_jacevaluator`` and ``_jacscale``;
  ``torch`` into ``_torch_module`` and ``jax`` into ``_jax_side`` and ``_jax_function``;
  and the adapters' float32 round-off verdict ``_roundoff_verdict``. The rest is copied
  unmutated, as it decides no verdict, touches no user data and sets no exit code:
  report text and HTML (``_report``, ``_jacreport``, ``_html``), plots and the step
  sweep behind them, the lesson and demo, progress bars, the command-line target loader
  (``_load``, which only raises), the parallel evaluators (checked against the serial
  one by their tests). The pytest plugin, which turns a report's status into a test
  failure, is not mutated yet: pytest imports it through its entry point, and how that
  meets mutmut's copy is untried.
- ``mutants/`` is brought up to date before each run (``_refresh_copies``): mutmut
  3.8.1 never re-copies a non-Python file it copied once, nor deletes a test file
  that was deleted, so an old ``mutants/`` runs old data files and deleted tests,
  and the suite under mutants can fail where ``make test`` passes.
- ``pytest_add_cli_args`` deselects the four tests that cannot pass with mutmut's
  trampoline in the call stack (each with its reason in ``pyproject.toml``): two
  read a traceback or an error text that then names mutmut's frames, one overflows
  the recursion limit with the trampoline's extra frames, and the notebook tests
  start a kernel that imports the mutated package without mutmut's set-up.
- One mutant at a time (the machine is shared), each in a forked child of a process
  that imported pytest, NumPy and gradcheck but not torch or JAX (their threads,
  forked mid-lock, deadlocked children now and then). A mutant whose tests run longer
  than 5 times their clean time plus 60 s is a timeout, and counts as caught.

A module's score is ``killed / (checked − equivalent)``, where a timeout counts as
killed (the mutant made the suite hang: a test noticed), and a mutant whose function no
test reaches counts as survived, as does a *skipped* one (its mirror file passed and
its other tests neither failed nor ended within ``mutate_direct.STAGE2_LIMIT``). With
a skipped mutant, or a test map older than some tests, the score is a lower bound.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import hand_mutations  # noqa: E402
from mutate_earlier import Earlier, earlier  # noqa: E402
from mutation_equivalents import EQUIVALENT  # noqa: E402

#: The modules whose mistakes change what a user is told (verdicts, data, exit codes),
#: most verdict-critical first: the order a full run takes them in.
MODULES = (
    "_numerics",
    "_steps",
    "_tolerances",
    "_norms",
    "_summary",
    "_compare",
    "_quotients",
    "_comparison",
    "_diagnose",
    "_precision",
    "_float64_route",
    "_roundoff_verdict",
    "_nearby",
    "_kinks",
    "_kinksearch",
    "_sharp",
    "_stairs",
    "_build",
    "_entrywise",
    "_rechecks",
    "_entries",
    "_retry",
    "_modes",
    "_directional_check",
    "_directional",
    "_directional_probe",
    "_localise",
    "_evaluate",
    "_points",
    "_rng",
    "_user_rng",
    "_user_arrays",
    "_plan",
    "_engine",
    "_pytree",
    "_inputs",
    "_io",
    "cli",
    "_frameworks",
    "_adapter_verdicts",
    "_own_slope",
    "_torch_state",
    "_torch_rng",
    "_torch_cast",
    "_torch_jvp",
    "torch",
    "_torch_module",
    "jax",
    "_jax_side",
    "_jax_function",
    "_complex",
    "_adapters",
    "_adapter_consistency",
    "_torch_function",
    "_torch_autograd",
    "_jacobian",
    "_jacgrid",
    "_jacevaluator",
    "_jacscale",
    "_jacproj",
    "_jacdiag",
    "_linear",
    "_flat_values",
    "_jacmatrix",
    "_layout",
    "_consistency",
    "_hessian",
    "_hessian_words",
    # split from _jacgrid, cli and _pytree (struct23): skipped while not in the tree
    "_jacnoise",
    "_cli_args",
    "_pytree_names",
)
#: The score each verdict module must reach (issue 16).
TARGET = 0.90
#: mutmut's exit codes (as its ``stats.status_by_exit_code`` reads them) that mean the
#: suite caught the mutant, and those that mean the mutant still has to be run.
CAUGHT = frozenset({"killed", "timeout", "caught by type check"})
PENDING = frozenset({"not checked", "check was interrupted by user"})
DOC = ROOT / "docs" / "testing.md"


def _status(code: int | None) -> str:
    from mutmut.stats import status_by_exit_code

    return str(status_by_exit_code[code])


@dataclass(frozen=True)
class Survivor:
    """A mutant the suite did not kill."""

    name: str
    status: str
    diff: str
    reason: str | None  # why it is equivalent, or None: a gap in the tests


@dataclass(frozen=True)
class ModuleScore:
    """One module's mutation results."""

    module: str
    counts: dict[str, int]
    survivors: tuple[Survivor, ...]
    test_seconds: dict[str, float]  # mean clean time of a mutant's tests, by status

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def checked(self) -> int:
        return self.total - sum(self.counts.get(s, 0) for s in PENDING)

    @property
    def equivalent(self) -> int:
        return sum(1 for s in self.survivors if s.reason is not None)

    @property
    def killed(self) -> int:
        return sum(self.counts.get(s, 0) for s in CAUGHT)

    @property
    def score(self) -> float:
        judged = self.checked - self.equivalent
        return self.killed / judged if judged > 0 else 1.0


def _source(module: str) -> Path:
    return ROOT / "src" / "gradcheck" / f"{module}.py"


def _meta(module: str) -> dict[str, dict[str, object]] | None:
    path = ROOT / "mutants" / "src" / "gradcheck" / f"{module}.py.meta"
    return json.loads(path.read_text()) if path.exists() else None


def _default_sigint() -> None:
    # The suite's Ctrl-C tests send SIGINT to a child process. A shell starts a
    # background job (`make mutate &`) with SIGINT ignored, every child inherits that,
    # and those tests then fail the stats run: give mutmut Python's default back.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _mutmut(*args: str, quiet: bool = True) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("mutmut")
    # A mutated module is ~25 times its source (all of its mutants); compiling them
    # takes seconds per interpreter, so let Python cache the bytecode in mutants/.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return subprocess.run(
        [str(exe), *args],
        cwd=ROOT,
        env=env,
        text=True,
        capture_output=quiet,
        check=False,
        preexec_fn=_default_sigint,
    )


def _config() -> dict[str, list[str]]:
    """``pyproject.toml``'s ``[tool.mutmut]``."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: mutmut depends on toml there
        import toml as tomllib

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    config: dict[str, list[str]] = pyproject["tool"]["mutmut"]
    return config


def check_config() -> None:
    """Refuse to run when ``[tool.mutmut] only_mutate`` and :data:`MODULES` differ."""
    config = _config()
    mutated = {Path(p).stem for p in config.get("only_mutate", [])}
    if mutated != set(MODULES):
        raise SystemExit(
            f"pyproject.toml [tool.mutmut] only_mutate names {sorted(mutated)}, but "
            f"tools/mutate.py MODULES names {sorted(MODULES)}: make them the same"
        )


def _refresh_copies() -> None:
    """Make ``mutants/``'s unmutated copies match the tree.

    mutmut 3.8.1 copies a file of ``source_paths`` only when ``mutants/`` lacks it and
    re-copies only ``.py`` files, and copies ``also_copy`` over the old copy, so a data
    file that changed (``report.schema.json``) and a test file that was deleted or
    renamed stay as they were: the suite under mutmut then fails where ``make test``
    passes, and the stats run stops with "failed to collect stats. runner returned 1".
    """
    mutants = ROOT / "mutants"
    if not mutants.exists():
        return
    src = mutants / "src"
    for path in [p for p in src.rglob("*") if p.is_file()] if src.exists() else []:
        if "__pycache__" in path.parts or path.suffix in {".meta", ".spans"}:
            continue
        origin = ROOT / path.relative_to(mutants)
        if not origin.exists():
            path.unlink()
        elif path.suffix != ".py" and path.read_bytes() != origin.read_bytes():
            shutil.copy2(origin, path)
    for name in _config().get("also_copy", []):
        if (ROOT / name).is_dir():
            shutil.rmtree(mutants / name, ignore_errors=True)


def _mutated() -> set[str]:
    """The modules that ``mutants/`` already holds the mutants of (each has a ``.meta``)."""
    metas = (ROOT / "mutants" / "src" / "gradcheck").glob("*.py.meta")
    return {p.name.removesuffix(".py.meta") for p in metas}


def generate(modules: list[str]) -> None:
    """Create or refresh ``mutants/`` (mutmut's first step; it resets changed functions).

    Only ``modules`` and those already mutated there are (re)mutated: mutating all of
    :data:`MODULES` took 20 minutes on the shared machine, for a run that may test one.
    A module left out is copied unmutated; a plain copy of one of ``modules`` (left by
    an earlier run without it) is removed first, as mutmut would take it, newer than
    its source, for an up-to-date mutated copy.
    """
    _refresh_copies()
    wanted = set(modules) | _mutated()
    for module in set(modules) - _mutated():
        (ROOT / "mutants" / "src" / "gradcheck" / f"{module}.py").unlink(missing_ok=True)
    files = [f"src/gradcheck/{m}.py" for m in sorted(wanted) if _source(m).exists()]
    code = (
        "import os, sys, mutmut.__main__ as m\n"
        "from mutmut.configuration import config\n"
        "config().only_mutate = sys.argv[1:]\n"
        "os.makedirs('mutants', exist_ok=True)\n"
        "m.copy_src_dir(); m.copy_also_copy_files(); m.setup_source_paths()\n"
        "m.create_mutants(1)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *files],
        cwd=ROOT,
        text=True,
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"generating the mutants failed:\n{done.stderr}")


def pending(module: str) -> list[str]:
    """The mutants of ``module`` that have no result in ``mutants/`` yet."""
    meta = _meta(module)
    if meta is None:
        raise SystemExit(f"mutants/ has no mutants of {module}: is it in only_mutate?")
    codes = meta["exit_code_by_key"]
    return sorted(k for k, c in codes.items() if _status(c) in PENDING)  # type: ignore[arg-type]


def run(modules: list[str], first_stage_only: bool = False) -> None:
    """Test each module's mutants that have no result yet, one module at a time;
    ``first_stage_only``: each mutant runs its module's mirror test file only, and one
    that passes it is recorded as skipped (no test map is made: that takes the whole
    suite once, an hour on the shared machine)."""
    start = time.monotonic()
    generate(modules)
    print(f"mutants made or brought up to date in {time.monotonic() - start:.0f} s", flush=True)
    for module in modules:
        if not _source(module).exists():
            print(f"{module}: {_source(module).relative_to(ROOT)} does not exist", flush=True)
            continue
        names = pending(module)
        if not names:
            print(f"{module}: every mutant already has a result", flush=True)
            continue
        print(f"{module}: running {len(names)} mutants", flush=True)
        start = time.monotonic()
        done = subprocess.run(
            [
                sys.executable,
                str(ROOT / "tools" / "mutate_direct.py"),
                module,
                *(["--first-stage-only"] if first_stage_only else []),
            ],
            cwd=ROOT,
            check=False,
            preexec_fn=_default_sigint,
        )
        done_now = len(set(names) - set(pending(module)))
        _record_time(module, done_now, time.monotonic() - start)
        if done.returncode != 0:
            raise SystemExit(f"testing the mutants of {module} failed ({done.returncode})")


def _record_time(module: str, mutants: int, seconds: float) -> None:
    """Add a run's wall time to ``mutants/mutate-times.json`` (mutmut's fork server
    records no per-mutant time)."""
    path = ROOT / "mutants" / "mutate-times.json"
    times = json.loads(path.read_text()) if path.exists() else {}
    old = times.get(module, {"mutants": 0, "seconds": 0.0})
    times[module] = {"mutants": old["mutants"] + mutants, "seconds": old["seconds"] + seconds}
    path.write_text(json.dumps(times, indent=1))


def _diff(module: str, name: str) -> str:
    """``mutmut show name``, kept in ``mutants/show-cache.json`` for the module's
    source as it is: one ``mutmut show`` took 10 to 20 s on the loaded machine, and
    every report shows every survivor of every module."""
    path = ROOT / "mutants" / "show-cache.json"
    cache = json.loads(path.read_text()) if path.exists() else {}
    key = f"{name} {hashlib.sha256(_source(module).read_bytes()).hexdigest()}"
    if key not in cache:
        cache[key] = _mutmut("show", name).stdout.strip()
        path.write_text(json.dumps(cache, indent=1))
    return str(cache[key])


def score(module: str) -> ModuleScore | None:
    """Read one module's results from ``mutants/``; None when it has none."""
    meta = _meta(module)
    if meta is None:
        return None
    codes: dict[str, int | None] = meta["exit_code_by_key"]  # type: ignore[assignment]
    durations: dict[str, float] = meta.get("durations_by_key", {})  # type: ignore[assignment]
    statuses = {name: _status(code) for name, code in codes.items()}
    counts = Counter(statuses.values())
    survivors = []
    for name, status in sorted(statuses.items()):
        if status not in CAUGHT and status not in PENDING:
            survivors.append(Survivor(name, status, _diff(module, name), EQUIVALENT.get(name)))
    times: dict[str, list[float]] = {}
    for name, status in statuses.items():
        if name in durations:
            times.setdefault(status, []).append(float(durations[name]))
    test_seconds = {s: sum(t) / len(t) for s, t in times.items()}
    return ModuleScore(module, dict(counts), tuple(survivors), test_seconds)


def unmutated(module: str) -> list[str]:
    """The functions of ``module`` that mutmut leaves alone: 3.8.1 mutates no function
    with a decorator other than ``@staticmethod``/``@classmethod`` (a decorator runs at
    definition time, and ``@property`` breaks its trampoline)."""
    if not _source(module).exists():
        return []
    tree = ast.parse(_source(module).read_text())
    plain = (["staticmethod"], ["classmethod"])
    return [
        f"{node.name} (@{', @'.join(ast.unparse(d) for d in node.decorator_list)})"
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.decorator_list
        and [ast.unparse(d) for d in node.decorator_list] not in plain
    ]


def _unmutated_text() -> list[str]:
    lines = []
    for module in MODULES:
        names = unmutated(module)
        if names:
            lines.append(f"- `{module}`: " + ", ".join(f"`{n}`" for n in names))
    return lines


def _row(module: str, s: ModuleScore | None, kept: Earlier) -> str:
    command = f"`python tools/mutate.py {module}`"
    if s is not None and s.total == 0:  # mutmut 3.8.1 mutates functions only
        return f"| `{module}` | 0 | 0 | | | | | | nothing to mutate: no functions |"
    if (s is None or s.checked == 0) and module in kept.rows:
        return kept.rows[module]
    if s is None or s.checked == 0:
        total = "" if s is None else str(s.total)
        return f"| `{module}` | {total} | 0 | | | | | | not run: {command} |"
    gaps = sum(1 for x in s.survivors if x.reason is None)
    if s.checked < s.total:
        verdict = f"partial ({s.total - s.checked} to run: {command})"
    else:
        verdict = "met" if s.score >= TARGET else "**NOT met**"
    timeout = s.counts.get("timeout", 0)
    return (
        f"| `{module}` | {s.total} | {s.checked} | {s.killed - timeout} | {timeout} | "
        f"{gaps} | {s.equivalent} | {s.score:.1%} | {verdict} |"
    )


def _timing(scores: list[ModuleScore]) -> list[str]:
    path = ROOT / "mutants" / "mutate-times.json"
    runs = json.loads(path.read_text()) if path.exists() else {}
    lines = []
    for s in scores:
        line = f"- `{s.module}`: "
        run = runs.get(s.module)
        if run and run["mutants"]:
            line += f"measured {run['seconds'] / run['mutants']:.1f} s a mutant "
            line += f"over {run['mutants']}; "
        tests = sorted((st, t) for st, t in s.test_seconds.items() if st not in PENDING)
        line += "its tests' clean time: " + ", ".join(f"{st} {t:.1f} s" for st, t in tests)
        lines.append(line)
    return lines


def _setup_text() -> list[str]:
    """The docstring's paragraphs on resuming and on the knobs, as Markdown."""
    doc = __doc__ or ""
    start, end = doc.index("**Resumable"), doc.index("A module's score")
    return doc[start:end].replace("``", "`").strip().splitlines()


def _hand_text(kept: Earlier) -> list[str]:
    """The hand mutations of issue 16 and what each did to its tests."""
    path = hand_mutations.RESULTS
    results = json.loads(path.read_text()) if path.exists() else {}
    lines = [
        "## Issue 16's hand mutations",
        "",
        "Each is made in a temporary copy of `src/` and its tests run with `pytest -x`",
        "(`python tools/hand_mutations.py`; the data is in that file). *caught*: a test",
        "failed; *gone*: the code no longer has that text.",
        "",
        "| # | file | what a user would be told wrongly | result | first failing test |",
        "|---|---|---|---|---|",
    ]
    for n, m in enumerate(hand_mutations.MUTATIONS, 1):
        r = results.get(str(n))
        if r is None and n in kept.hand_rows:
            lines.append(kept.hand_rows[n])
            continue
        outcome, failure = (r["outcome"], r["first_failure"]) if r else ("not run", "")
        failure = failure.removeprefix("FAILED ").split(" - ")[0]
        what = m.what.replace("|", "\\|")
        lines.append(f"| {n} | `{m.file}` | {what} | {outcome} | `{failure}` |")
    return lines


def render(scores: dict[str, ModuleScore | None], kept: Earlier | None = None) -> str:
    """``docs/testing.md``; ``kept``: what the page said of modules (and hand
    mutations) without results in ``mutants/`` (``tools/mutate_earlier.py``)."""
    kept = kept or Earlier({}, {}, {}, {})
    lines = [
        "# Testing: how strong the suite is",
        "",
        "Generated by `make mutate` (`tools/mutate.py`; `python tools/mutate.py --report-only`",
        "rewrites it from `mutants/`); do not edit by hand.",
        "",
        "mutmut makes one small change (a *mutant*) at a time to the modules that decide",
        "verdicts, protect user data or set exit codes, and runs the tests that reach the",
        "changed function. A mutant the suite notices is *killed* (a mutant that makes the",
        "suite hang is a *timeout*, also caught). A surviving mutant is either *equivalent*",
        "(it cannot change any result; the reason is given) or a gap in the tests, listed",
        "with its diff. Score = caught / (checked − equivalent); the target is",
        f"{TARGET:.0%} per module. A *skipped* mutant passed its module's mirror test file",
        "and its other tests did not run to the end (`--first-stage-only`, or past the",
        "second stage's time limit): it counts as not caught, so a score with skipped",
        "mutants is a lower bound.",
        "",
        "## How it runs, and why",
        "",
        *_setup_text(),
        "",
        "## Scores",
        "",
        "| module | mutants | checked | killed | timeout | survived | equivalent | score "
        "| target |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [_row(m, s, kept) for m, s in scores.items()]
    lines += [
        "",
        "Not mutated at all: mutmut 3.8.1 makes no mutant of a function with a",
        "decorator (other than `@staticmethod`/`@classmethod`), so these functions'",
        "tests are not measured here; the scores above are over the rest. The hand",
        "mutations of issue 16 in `compare` and `Plan.fixed` are checked by hand",
        "(each makes the suite fail).",
        "",
        *_unmutated_text(),
    ]
    lines += ["", *_hand_text(kept)]
    done = [s for s in scores.values() if s is not None and s.checked]
    ran = {s.module for s in done}
    timing = _timing(done) + [t for m, t in kept.timing.items() if m not in ran]
    if timing:
        lines += [
            "",
            "Time per mutant on the shared 2-core machine, one at a time: the measured",
            "mean wall time of a module's run (its clean runs included), and the mean",
            "time of a mutant's tests, by result. A killed mutant stops at its first",
            "failing test (`-x`); a survivor runs all of its tests.",
        ]
        lines += ["", *timing]
    for module, s in scores.items():
        if module not in ran and module in kept.sections:
            lines += ["", f"## `{module}`", *kept.sections[module], ""]
        if module not in ran or s is None or not s.survivors:
            continue
        lines += ["", f"## `{s.module}`", ""]
        for x in s.survivors:
            why = f"equivalent: {x.reason}" if x.reason else f"**not killed** ({x.status})"
            lines += [f"- `{x.name}` — {why}", "", "  ```diff"]
            lines += ["  " + d for d in x.diff.splitlines()[-12:]]
            lines += ["  ```", ""]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help=f"modules to mutate (default: {MODULES})")
    parser.add_argument("--report-only", action="store_true", help="only rewrite the page")
    parser.add_argument(
        "--first-stage-only",
        action="store_true",
        help="run each mutant's mirror test file only (no test map); one it passes is skipped",
    )
    args = parser.parse_args(argv)
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        parser.error(f"unknown module(s) {unknown}: choose from {', '.join(MODULES)}")
    check_config()
    if not args.report_only:
        if not args.modules:
            hand_mutations.main([])
        run(list(args.modules or MODULES), args.first_stage_only)
    scores = {m: score(m) for m in MODULES}
    DOC.write_text(render(scores, earlier(DOC)))
    for m, s in scores.items():
        shown = "not run" if s is None or not s.checked else f"score {s.score:.1%}"
        total = 0 if s is None else s.total
        print(f"{m:14s} {total:5d} mutants  {shown}")
    print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
