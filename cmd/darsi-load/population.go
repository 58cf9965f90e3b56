package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/lesson"
	"github.com/darsi-ma/darsi/bot/store/redisstore"
)

// population is the programme the scale mode seeds: learner i is the same
// learner at every size and in every run (its profile comes from a random
// source seeded with i), so that a bigger store holds the smaller one.
type population struct {
	store *redisstore.Store
	cat   *lesson.Catalog
	// now is the time the population's dates are relative to.
	now time.Time
	// seeded is how many learners the store holds: 0 to seeded-1.
	seeded int
	// codes are the join codes of the cohorts created so far, by number:
	// 0 the 30-member cohort, 1 the 10,000-member one, then the others.
	codes []string
	// coach is set once the measured coach's account exists; coaches is
	// how many other coaches' accounts do.
	coach   bool
	coaches int
}

// learnerID is learner i's id: a Moroccan mobile number of its own, the
// numbers spread over the range rather than consecutive (7,919 is prime
// to 10⁸, so no two learners below 10⁸ share one).
func learnerID(i int) string {
	return fmt.Sprintf("whatsapp:+2126%08d", (i*7919+1234567)%100_000_000)
}

// cohortOf is the number of learner i's cohort, -1 for none.
func cohortOf(i int) int {
	switch {
	case i < smallCohort:
		return 0
	case i < smallCohort+bigCohort:
		return 1
	}
	r := i - smallCohort - bigCohort
	if r%20 == 19 {
		return -1
	}
	return 2 + r/cohortSlots
}

// coachOf is the login of cohort k's coach.
func coachOf(k int) string {
	if k < coachCohorts {
		return coachLogin
	}
	return otherCoach((k - coachCohorts) / coachCohorts)
}

func otherCoach(j int) string { return fmt.Sprintf("coach-%04d", j) }

// members are the ids of cohort k's members among the first n learners.
// Only the two measured cohorts are asked for.
func (p *population) members(k, n int) []string {
	var ids []string
	for i := range n {
		if c := cohortOf(i); c == k {
			ids = append(ids, learnerID(i))
		} else if c > k {
			break
		}
	}
	return ids
}

// putCoaches creates the measured coach's account, and the other
// coaches' up to the j-th (-1 for none). Passwords are hashed at bcrypt's
// lowest cost: logging in is not what the tool measures.
func (p *population) putCoaches(ctx context.Context, j int) error {
	hash := func(password string) ([]byte, error) {
		return bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	}
	if !p.coach {
		h, err := hash(coachPassword)
		if err != nil {
			return err
		}
		err = p.store.PutCoach(ctx, cohort.Coach{Login: coachLogin, Name: "Amina (scale)", Role: cohort.RoleCoach,
			PasswordHash: h, TokenHash: cohort.TokenHash(coachToken), CreatedAt: p.now.UTC()})
		if err != nil {
			return err
		}
		p.coach = true
	}
	for ; p.coaches <= j; p.coaches++ {
		login := otherCoach(p.coaches)
		// A password nobody knows: only the measured coach logs in.
		h, err := hash(cohort.NewToken())
		if err != nil {
			return err
		}
		err = p.store.PutCoach(ctx, cohort.Coach{Login: login, Name: login, Role: cohort.RoleCoach, PasswordHash: h, CreatedAt: p.now.UTC()})
		if err != nil {
			return err
		}
	}
	return nil
}

// createCohorts creates the cohorts up to the k-th, with their coaches.
func (p *population) createCohorts(ctx context.Context, k int) error {
	for len(p.codes) <= k {
		n := len(p.codes)
		if owner := coachOf(n); owner != coachLogin {
			if err := p.putCoaches(ctx, (n-coachCohorts)/coachCohorts); err != nil {
				return err
			}
		}
		name := fmt.Sprintf("Cohorte %d", n+1)
		switch n {
		case 0:
			name = "Couture Safi (30)"
		case 1:
			name = "Tiznit coopératives (10 000)"
		}
		// Created a second apart, so that the list's order is the
		// cohorts' numbers.
		c := cohort.Cohort{Name: name, Coach: coachOf(n), CreatedAt: p.now.Add(time.Duration(n-1_000_000) * time.Second).UTC()}
		for {
			c.Code = cohort.NewCode()
			err := p.store.CreateCohort(ctx, c)
			if bot.KindOf(err) == bot.Conflict {
				continue
			}
			if err != nil {
				return err
			}
			break
		}
		p.codes = append(p.codes, c.Code)
	}
	return nil
}

// seed grows the store to n learners: the cohorts they need, then the
// learners, by chunks of seedChunk in seedWorkers parallel pipelines.
func (p *population) seed(ctx context.Context, n int) error {
	if n <= p.seeded {
		return nil
	}
	last := -1
	for i := n - 1; i >= 0 && last < 0; i-- {
		last = cohortOf(i)
	}
	if err := p.createCohorts(ctx, last); err != nil {
		return err
	}
	from := p.seeded
	chunks := (n - from + seedChunk - 1) / seedChunk
	var done atomic.Int64
	stop := progress(func() string {
		return fmt.Sprintf("  seeding: %s of %s learners", thousands(int(done.Load())), thousands(n-from))
	})
	defer stop()
	err := parallel(ctx, chunks, seedWorkers, func(c int) error {
		lo := from + c*seedChunk
		hi := min(lo+seedChunk, n)
		batch := make([]bot.Learner, 0, hi-lo)
		for i := lo; i < hi; i++ {
			batch = append(batch, p.learner(i))
		}
		if err := p.store.Import(ctx, batch); err != nil {
			return err
		}
		done.Add(int64(hi - lo))
		return nil
	})
	if err != nil {
		return err
	}
	p.seeded = n
	return nil
}

// progress prints what line says on stderr every 10 seconds until stop is
// called, so that a long step shows it is moving.
func progress(line func() string) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Fprintln(os.Stderr, line())
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// parallel calls fn for 0 to n-1 from workers goroutines, and returns the
// first error; after one, the calls not started yet are skipped.
func parallel(ctx context.Context, n, workers int, fn func(int) error) error {
	var (
		next     atomic.Int64
		firstErr error
		once     sync.Once
		failed   atomic.Bool
		wg       sync.WaitGroup
	)
	for range min(workers, n) {
		wg.Go(func() {
			for !failed.Load() && ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { firstErr = err })
					failed.Store(true)
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// The shares of the population: languages (Darija, Arabic, French,
// Tamazight), and how recently learners wrote.
var langShares = []struct {
	lang  bot.Lang
	share float64
}{{bot.Darija, 0.45}, {bot.Arabic, 0.20}, {bot.French, 0.25}, {bot.Tamazight, 0.10}}

// Nudges follow darsi's defaults (DARSI_NUDGE_AFTER, DARSI_SECOND_NUDGE_AFTER);
// reviews come 1, 3 and 7 days after a lesson, an hour early.
const (
	nudgeAfter       = 72 * time.Hour
	secondNudgeAfter = 168 * time.Hour
	reviewEarly      = time.Hour
)

var reviewDays = []int{1, 3, 7}

// learner is learner i as the store would hold them after a while in the
// programme. Their time in the due index is in the future when seeded,
// spread as a programme's is, so that some come due while the tool runs,
// a few at a time.
func (p *population) learner(i int) bot.Learner {
	r := rand.New(rand.NewPCG(uint64(i), 0x5ca1e))
	now := p.now
	hours := func(lo, hi float64) time.Duration {
		return time.Duration((lo + r.Float64()*(hi-lo)) * float64(time.Hour))
	}
	l := bot.Learner{ID: learnerID(i), Channel: bot.WhatsApp, Consent: true, Phase: bot.PhaseMenu}
	x := r.Float64()
	for _, s := range langShares {
		if x < s.share {
			l.Lang = s.lang
			break
		}
		x -= s.share
	}
	if l.Lang == "" {
		l.Lang = bot.Darija
	}
	if k := cohortOf(i); k >= 0 {
		l.Cohort = p.codes[k]
	}

	// How recently they wrote: most in the last days, with a nudge to
	// come; some nudged once and due for the second; a few silent after
	// both nudges, out of the due index.
	nudges, nextNudge := 0, time.Time{}
	switch x := r.Float64(); {
	case x < 0.6:
		l.LastInboundAt = now.Add(-hours(0, 60))
		nextNudge = l.LastInboundAt.Add(nudgeAfter)
	case x < 0.9:
		l.LastInboundAt = now.Add(-hours(80, 230))
		nudges, nextNudge = 1, l.LastInboundAt.Add(nudgeAfter+secondNudgeAfter)
	default:
		l.LastInboundAt = now.Add(-hours(11*24, 90*24))
		nudges = 2
	}
	l.UpdatedAt = l.LastInboundAt

	if r.Float64() < 0.02 {
		// Still to agree to the data terms: nothing else yet.
		l.Consent, l.Phase = false, bot.PhaseConsent
		l.Version = int64(2 + r.IntN(3))
		return l
	}
	course := p.cat.Courses[r.IntN(len(p.cat.Courses))]
	done := r.IntN(len(course.Lessons) + 1)
	last := l.LastInboundAt.Add(-hours(0, 1))
	for j := done - 1; j >= 0; j-- {
		les := course.Lessons[j]
		score := 100
		if q := les.Questions(); q > 0 {
			score = r.IntN(q+1) * 100 / q
		}
		l.Completed = append(l.Completed, bot.Completion{Lesson: les.ID, Score: score, At: last})
		for _, st := range les.Steps {
			if st.Kind == lesson.Survey && len(st.Options) > 0 && r.Float64() < 0.8 {
				if l.Indicators == nil {
					l.Indicators = map[string]string{}
				}
				l.Indicators[st.Survey] = st.Options[r.IntN(len(st.Options))].Value
			}
		}
		last = last.Add(-hours(24, 120))
	}
	slices.Reverse(l.Completed)

	if done < len(course.Lessons) {
		switch x := r.Float64(); {
		case x < 0.45:
			p.inLesson(r, &l, course.Lessons[done])
		case x < 0.6 && done > 0:
			l.Phase = bot.PhaseDone
		}
	}
	l.Version = int64(5 + 12*done + r.IntN(10))

	if r.Float64() < 0.03 {
		l.OptedOut = true
		return l // out of the due index
	}
	l.Outreach.Nudges = nudges
	l.Outreach.At = nextNudge
	if done > 0 && nudges == 0 {
		// Reviews of the last lesson that are still to come.
		les := course.Lessons[done-1]
		c := l.Completed[len(l.Completed)-1]
		if keys := les.KeyQuestions(); len(keys) > 0 {
			for _, d := range reviewDays {
				at := c.At.Add(time.Duration(d)*24*time.Hour - reviewEarly)
				if at.After(now) {
					l.Outreach.Reviews = append(l.Outreach.Reviews, bot.PendingReview{Lesson: les.ID, Step: keys[0].ID, At: at})
					if l.Outreach.At.IsZero() || at.Before(l.Outreach.At) {
						l.Outreach.At = at
					}
				}
			}
		}
	}
	return l
}

// inLesson puts the learner somewhere inside les, with the answers a
// learner there has given.
func (p *population) inLesson(r *rand.Rand, l *bot.Learner, les *lesson.Lesson) {
	at := r.IntN(len(les.Steps))
	st := les.Steps[at]
	l.Phase = bot.PhaseLesson
	l.Position = bot.Position{Course: les.Course, Lesson: les.ID, Step: st.ID, Index: at}
	for _, s := range les.Steps[:at] {
		switch {
		case s.Kind == lesson.Question:
			l.Asked++
			if r.Float64() < 0.7 {
				l.Right++
			}
		case s.Kind == lesson.Input && s.Var != "":
			if l.Vars == nil {
				l.Vars = map[string]string{}
			}
			v := s.Example
			if v == "" {
				v = strconv.Itoa(10 * (1 + r.IntN(100)))
			}
			l.Vars[s.Var] = v
		}
	}
	if st.Kind == lesson.Question && r.Float64() < 0.2 {
		l.Tries = 1
	}
}
