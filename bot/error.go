package bot

import (
	"errors"
	"fmt"
)

// Kind classifies an error by what the caller can do about it. HTTP handlers
// map kinds to status codes in one table; learners never see error text.
type Kind int

// Error kinds.
const (
	Internal    Kind = iota // a bug or an unexpected failure
	Invalid                 // the input is wrong; retrying will not help
	NotFound                // the thing does not exist
	Conflict                // a concurrent change won; retry
	Unavailable             // a dependency is down; retry later
	Forbidden               // the caller may not do this; asking again will not help
)

func (k Kind) String() string {
	switch k {
	case Invalid:
		return "invalid"
	case NotFound:
		return "not found"
	case Conflict:
		return "conflict"
	case Unavailable:
		return "unavailable"
	case Forbidden:
		return "forbidden"
	}
	return "internal"
}

// Error is the error type of Darsi's packages.
type Error struct {
	Op   string // the operation, such as "boltstore.Update"
	Kind Kind
	Err  error
}

// E builds an *Error. Err may be nil: the error then reads as the kind.
func E(op string, kind Kind, err error) error {
	return &Error{Op: op, Kind: kind, Err: err}
}

// Errorf builds an *Error from a message.
func Errorf(op string, kind Kind, format string, args ...any) error {
	return &Error{Op: op, Kind: kind, Err: fmt.Errorf(format, args...)}
}

func (e *Error) Error() string {
	if e.Err == nil {
		return e.Op + ": " + e.Kind.String()
	}
	return e.Op + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of the outermost *Error in err's chain, or Internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}
