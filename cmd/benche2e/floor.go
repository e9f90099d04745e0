package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cardverify/cardverify/cmd/internal/gen"
)

// The floor is the least work any client of the API must do per row: a
// POST of the form, reading the body and decoding its JSON, with 32
// connections kept open and nothing else (no reading of a list, no
// checkpoint, no output). It runs in a child process of the driver, so that
// its CPU time is measured by wait4 exactly as cardverify's is, against the
// same sandbox process in the same run. cardverify's CPU per row is judged
// as a ratio to it, which does not depend on the machine's speed.

const floorWorkers = 32

// floorJob is one floor run, from the driver's internal flags.
type floorJob struct {
	url  string
	rows int
	seed uint64
	qps  float64 // calls per second, paced by a ticker; 0: as fast as it goes
}

// runFloor sends one call for each of the rows of gen's clean list and
// exits; it is the -floor-url mode of this program.
func runFloor(f floorJob) error {
	tr := &http.Transport{MaxIdleConns: floorWorkers, MaxIdleConnsPerHost: floorWorkers}
	client := &http.Client{Transport: tr}
	endpoint := f.url + "/verifybankcard/query"
	o := gen.Options{Rows: f.rows, Seed: f.seed, Clean: true}
	var next atomic.Int64
	var pace <-chan time.Time
	if f.qps > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / f.qps))
		defer t.Stop()
		pace = t.C
	}
	var wg sync.WaitGroup
	errs := make(chan error, floorWorkers)
	for range floorWorkers {
		wg.Go(func() {
			for {
				if pace != nil {
					<-pace
				}
				i := int(next.Add(1)) - 1
				if i >= f.rows {
					return
				}
				r := o.Row(i)
				form := url.Values{"key": {"floor"}, "realname": {r.Name}, "bankcard": {r.Card}, "jobid": {"1"}}
				resp, err := client.PostForm(endpoint, form)
				if err != nil {
					errs <- err
					return
				}
				var answer struct {
					ErrorCode int `json:"error_code"`
					Result    struct {
						Res   json.Number `json:"res"`
						JobID string      `json:"jobid"`
					} `json:"result"`
				}
				err = json.NewDecoder(resp.Body).Decode(&answer)
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil {
					errs <- fmt.Errorf("row %d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs // nil when the channel is empty
}

// floor runs the floor client for rows calls against the sandbox at base
// and returns what it cost.
// and returns what it cost; qps > 0 paces the calls.
func floor(ctx context.Context, base string, rows int, seed uint64, qps float64) (result, error) {
	self, err := os.Executable()
	if err != nil {
		return result{}, err
	}
	c := command{bin: self, args: []string{"-floor-url", base, "-floor-rows", strconv.Itoa(rows), "-floor-seed", strconv.FormatUint(seed, 10),
		"-floor-qps", strconv.FormatFloat(qps, 'f', -1, 64)}}
	r, err := c.run(ctx, nil)
	if err == nil && r.code != 0 {
		err = fmt.Errorf("floor client exited %d: %s", r.code, r.stderr)
	}
	return r, err
}
