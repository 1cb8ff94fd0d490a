"""Span labels read from each form a span competition's training file gives them (fasthf.inputs.span_labels), and
the one sentence each bad input gets."""
import json
import logging
from functools import partial

import pandas as pd
import pytest

from fasthf.inputs.data import DataError
from fasthf.inputs.span_labels import (Span, spans_by_document, spans_of_answer_starts, spans_of_locations,
                                       spans_of_substrings)
from fasthf.inputs.token_records import bio_of_spans, spans_of_bio, spans_of_bio_records, text_of_tokens


# each competition's columns, as its description names them
substrings = partial(spans_of_substrings, text="text", selected="selected_text")
answer_starts = partial(spans_of_answer_starts, text="context", start="answer_start", answer="answer_text")
locations = partial(spans_of_locations, text="pn_history", location="location")
by_document = partial(spans_by_document, id="id", start="discourse_start", end="discourse_end", type="discourse_type")


def read_as(frame, path, unit="line", first=2):
    """The attrs fasthf's readers give a frame: its path, each row's line (or record) and the unit."""
    frame.attrs.update(path=path, line_numbers=list(range(first, first + len(frame))), unit=unit)
    return frame


def test_span_is_a_plain_hashable_sortable_value():
    spans = [Span(5, 9, "Claim"), Span(0, 4), Span(5, 7, "Lead")]
    assert sorted(spans) == [Span(0, 4, ""), Span(5, 7, "Lead"), Span(5, 9, "Claim")]
    assert len({Span(0, 4), Span(0, 4, "")}) == 1
    with pytest.raises(AttributeError):
        spans[0].start = 1


# -- Tweet: selected_text, a substring ----------------------------------------------------------------

def tweets():
    return read_as(pd.DataFrame({
        "textID": ["549e992a42", "cb774db0d1", "fdb77c3752", "x1"],
        "text": [" Sooo SAD I will miss you here in San Diego!!!", " I`d have responded, if I were going",
                 "good good day", ""],
        "selected_text": ["Sooo SAD", "I`d have responded, if I were going", "good", ""],
    }), "train.csv")


def test_tweet_span_is_found_in_the_text_as_it_is_with_its_leading_space():
    frame = tweets()
    spans = substrings(frame)
    assert spans[0] == [Span(1, 9)]
    assert frame.text[0][1:9] == "Sooo SAD"
    assert spans[1] == [Span(1, 36)]


def test_tweet_selected_text_occurring_twice_takes_the_first_occurrence():
    assert substrings(tweets())[2] == [Span(0, 4)]


def test_tweet_empty_or_missing_selected_text_gives_no_span(caplog):
    frame = pd.DataFrame({"text": ["", float("nan"), "fine"], "selected_text": ["", float("nan"), "fine"]})
    with caplog.at_level(logging.INFO, logger="fasthf.inputs.span_labels"):
        assert substrings(frame, type="span") == [[], [], [Span(0, 4, "span")]]
    assert "2 row(s) with an empty 'selected_text' have no span" in caplog.text


def test_tweet_selected_text_not_in_its_text_is_refused_naming_line_and_column():
    frame = tweets()
    frame.loc[1, "selected_text"] = "responded if"  # a comma dropped
    with pytest.raises(DataError, match=r"^train\.csv: line 3: column 'selected_text': 'responded if' is not in "
                                        r"column 'text' .*copy it from its text verbatim, spaces included, "
                                        r"or remove that row$"):
        substrings(frame)


def test_frame_without_attrs_is_named_by_source_and_row():
    frame = pd.DataFrame({"text": ["abc"], "selected_text": ["abd"]})
    with pytest.raises(DataError, match=r"^tweets: row 1: column 'selected_text'"):
        substrings(frame, source="tweets")


def test_missing_column_is_refused_naming_it():
    with pytest.raises(DataError, match=r"train\.csv: has no column\(s\) \['selected_text'\]"):
        substrings(read_as(pd.DataFrame({"text": ["a"]}), "train.csv"))


# -- chaii: answer_start + answer_text ----------------------------------------------------------------

CONTEXT = "भारत की राजधानी नई दिल्ली है। नई दिल्ली एक बड़ा शहर है।"


def test_chaii_answer_at_its_start_gives_that_span_from_text_cells():
    start = CONTEXT.index("नई दिल्ली")
    frame = read_as(pd.DataFrame({"context": [CONTEXT], "answer_start": [str(start)], "answer_text": ["नई दिल्ली"]}),
                    "train.csv")
    [[span]] = answer_starts(frame)
    assert CONTEXT[span.start:span.end] == "नई दिल्ली" and span.start == start


def test_chaii_wrong_answer_start_moves_to_the_nearest_occurrence_and_is_counted(caplog):
    second = CONTEXT.index("नई दिल्ली", CONTEXT.index("नई दिल्ली") + 1)
    frame = read_as(pd.DataFrame({"context": [CONTEXT, CONTEXT], "answer_start": [second - 3, second],
                                  "answer_text": ["नई दिल्ली", "नई दिल्ली"]}), "train.csv")
    with caplog.at_level(logging.WARNING, logger="fasthf.inputs.span_labels"):
        spans = answer_starts(frame)
    assert spans == [[Span(second, second + len("नई दिल्ली"))]] * 2
    assert "1 answer(s) not at their 'answer_start' moved" in caplog.text and "train.csv: line 2" in caplog.text


def test_chaii_answer_not_in_its_context_is_refused():
    frame = read_as(pd.DataFrame({"context": [CONTEXT], "answer_start": [0], "answer_text": ["मुंबई"]}), "train.csv")
    with pytest.raises(DataError, match=r"^train\.csv: line 2: column 'answer_text': 'मुंबई' is not in column "
                                        r"'context', neither at answer_start 0 nor elsewhere"):
        answer_starts(frame)


def test_chaii_answer_start_that_is_not_a_whole_number_is_refused():
    frame = read_as(pd.DataFrame({"context": [CONTEXT], "answer_start": ["12.5"], "answer_text": ["भारत"]}),
                    "train.csv")
    with pytest.raises(DataError, match=r"line 2: column 'answer_start': '12\.5' is not a whole number from 0"):
        answer_starts(frame)


# -- NBME: location list literals ---------------------------------------------------------------------

NOTE = ('HPI: 17yo M presents with palpitations. Patient reports 3-4 months of intermittent episodes of "heart '
        'beating/pounding out of my chest." 2 days ago during a soccer game had an episode, but this time had chest '
        'pressure and felt as if he were going to pass out (did not lose conciousness). Of note patient endorses '
        'abusing adderall, primarily to study (1-3 times per week). Before recent soccer game, took adderrall night '
        'before and morning of game. Denies shortness of breath, diaphoresis, fevers, chills, headache, fatigue.')


def notes(location):
    return read_as(pd.DataFrame({"id": ["00016_003", "00016_005", "00016_x"], "pn_history": [NOTE] * 3,
                                 "location": ["['70 91', '176 183']", "[]", location]}), "train.csv")


def test_nbme_locations_give_one_span_per_piece_and_none_for_empty_list():
    denies, fevers = NOTE.index("Denies"), NOTE.index("fevers")
    spans = locations(notes(f"['{denies} {denies + 6};{fevers} {fevers + 6}', '203 217']"))
    assert spans[0] == [Span(70, 91), Span(176, 183)]
    assert [NOTE[s.start:s.end] for s in spans[0]] == ["intermittent episodes", "episode"]
    assert spans[1] == []
    assert [NOTE[s.start:s.end] for s in spans[2]] == ["chest pressure", "Denies", "fevers"]  # sorted by start


@pytest.mark.parametrize("location", ["['696 724'", "['696-724']", "", "[696]"])
def test_nbme_location_that_does_not_parse_is_refused(location):
    with pytest.raises(DataError, match=r"^train\.csv: line 4: column 'location': .* is not a list of \"start end\" "
                                        r"character offsets"):
        locations(notes(location))


def test_nbme_location_past_the_end_of_the_note_is_refused():
    with pytest.raises(DataError, match=rf"line 4: column 'location': .*the range '696 724' ends past the end of "
                                        rf"column 'pn_history' \({len(NOTE)} characters\)"):
        locations(notes("['696 724']"))


def test_nbme_reversed_range_is_refused():
    with pytest.raises(DataError, match=r"line 4: column 'location': .*\(91, 70\) is reversed"):
        locations(notes("['176 183;91 70']"))


# -- Feedback Prize: typed segments per document ----------------------------------------------------------

ESSAY = ("Phones\n\nModern humans today are always on their phone. They are always on their phone more than 5 hours "
         "a day no stop .All they do is text back and forward and just have group Chats on social media. They even "
         "do it while driving. They are some really bad consequences when stuff happens when it comes to a phone. "
         "Some certain areas in the United States ban phones from class rooms just because of it.\n\n")


def segments(**changed):
    frame = pd.DataFrame({"id": ["423A1CA112E2"] * 3, "discourse_id": ["1622627671020", "1622627660524",
                                                                        "1622627653021"],
                          "discourse_start": ["313.0", 8.0, "230.0"], "discourse_end": ["401.0", 229.0, "312.0"],
                          "discourse_type": ["Evidence", "Lead", "Position"]})
    for column, (row, value) in changed.items():
        frame.loc[row, column] = value
    return read_as(frame, "train.csv")


def test_feedback_segments_become_typed_spans_per_essay_and_leave_the_title_unlabelled():
    spans = by_document(segments(), {"423A1CA112E2": ESSAY, "other": "unused"})
    assert list(spans) == ["423A1CA112E2"]
    assert spans["423A1CA112E2"] == [Span(8, 229, "Lead"), Span(230, 312, "Position"), Span(313, 401, "Evidence")]
    assert ESSAY[8:229].startswith("Modern humans") and ESSAY[8:229].endswith("driving.")
    assert all(s.start >= len("Phones\n\n") for s in spans["423A1CA112E2"])


def test_feedback_non_integral_offset_is_refused():
    with pytest.raises(DataError, match=r"^train\.csv: line 3: column 'discourse_start': '8\.5' is not a whole "
                                        r"number of characters"):
        by_document(segments(discourse_start=(1, "8.5")), {"423A1CA112E2": ESSAY})


def test_feedback_segment_past_the_end_of_its_essay_is_refused():
    with pytest.raises(DataError, match=r"line 2: column 'discourse_end': 1890 is past the end of the text of "
                                        r"'423A1CA112E2' \(402 characters\)"):
        by_document(segments(discourse_end=(0, "1890.0")), {"423A1CA112E2": ESSAY})


def test_feedback_reversed_segment_and_id_without_text_are_refused():
    with pytest.raises(DataError, match=r"line 4: columns 'discourse_start' and 'discourse_end': 230 > 200"):
        by_document(segments(discourse_end=(2, "200.0")), {"423A1CA112E2": ESSAY})
    with pytest.raises(DataError, match=r"line 2: column 'id': '423A1CA112E2' has no text \(1 texts read\)"):
        by_document(segments(), {"FFFF80B8CC2F": "another essay"})


# -- PII: BIO labels over spaCy tokens ----------------------------------------------------------------

TOKENS = ["Design", "Thinking", "for", "innovation", "reflexion", "-", "Avril", "2021", "-", "Nathalie", "Sylla",
          "\n\n", "Challenge", "&", "selection", "\n\n"]
SPACES = [True, True, True, True, False, False, True, False, False, True, False, False, True, True, False, False]
LABELS = ["O"] * 9 + ["B-NAME_STUDENT", "I-NAME_STUDENT"] + ["O"] * 5
FULL_TEXT = "Design Thinking for innovation reflexion-Avril 2021-Nathalie Sylla\n\nChallenge & selection\n\n"


def test_pii_tokens_rebuild_the_full_text_with_each_tokens_offsets():
    text, offsets = text_of_tokens(TOKENS, SPACES, FULL_TEXT, LABELS)
    assert text == FULL_TEXT
    assert [text[s:e] for s, e in offsets] == TOKENS
    assert offsets[5] == (40, 41) and offsets[11] == (66, 68)  # "-" right after "reflexion"; "\n\n" after "Sylla"


def test_pii_bio_labels_become_one_typed_span_and_back():
    _, offsets = text_of_tokens(TOKENS, SPACES)
    spans = spans_of_bio(LABELS, offsets)
    assert spans == [Span(52, 66, "NAME_STUDENT")] and FULL_TEXT[52:66] == "Nathalie Sylla"
    assert bio_of_spans(spans, offsets) == LABELS


def test_pii_round_trip_keeps_adjacent_spans_of_one_type_apart():
    offsets = [(0, 4), (5, 9), (10, 14), (15, 19), (20, 24), (25, 29)]
    labels = ["B-NAME_STUDENT", "B-NAME_STUDENT", "I-NAME_STUDENT", "O", "B-URL_PERSONAL", "B-ID_NUM"]
    spans = spans_of_bio(labels, offsets)
    assert spans == [Span(0, 4, "NAME_STUDENT"), Span(5, 14, "NAME_STUDENT"), Span(20, 24, "URL_PERSONAL"),
                     Span(25, 29, "ID_NUM")]
    assert bio_of_spans(spans, offsets) == labels


def test_pii_i_tag_after_o_or_another_type_starts_a_span_and_is_counted(caplog):
    offsets = [(0, 4), (5, 9), (10, 14), (15, 19)]
    labels = ["O", "I-STREET_ADDRESS", "I-PHONE_NUM", "I-PHONE_NUM"]
    with caplog.at_level(logging.INFO, logger="fasthf.inputs.token_records"):
        spans = spans_of_bio(labels, offsets)
    assert spans == [Span(5, 9, "STREET_ADDRESS"), Span(10, 19, "PHONE_NUM")]
    assert "2 span(s) begin with an I- tag" in caplog.text
    assert bio_of_spans(spans, offsets) == ["O", "B-STREET_ADDRESS", "B-PHONE_NUM", "I-PHONE_NUM"]


def test_pii_records_read_from_json_text_cells_name_their_record():
    frame = read_as(pd.DataFrame({"document": [7], "full_text": [FULL_TEXT], "tokens": [json.dumps(TOKENS)],
                                  "trailing_whitespace": [json.dumps(SPACES)], "labels": [json.dumps(LABELS)]}),
                    "train.json", unit="record", first=1)
    assert spans_of_bio_records(frame) == [[Span(52, 66, "NAME_STUDENT")]]
    frame.loc[0, "labels"] = json.dumps(LABELS[:-1])
    with pytest.raises(DataError, match=r"^train\.json: record 1: column 'labels' holds 15 values for 16 tokens"):
        spans_of_bio_records(frame)


def test_pii_trailing_whitespace_of_another_length_is_refused():
    with pytest.raises(DataError, match=r"column 'trailing_whitespace' holds 15 values for 16 tokens in column "
                                        r"'tokens'"):
        text_of_tokens(TOKENS, SPACES[:-1])


def test_pii_full_text_differing_from_the_tokens_names_the_first_differing_character():
    full_text = FULL_TEXT.replace("Sylla\n\n", "Sylla \n\n")  # a space the tokens do not have
    with pytest.raises(DataError, match=r"column 'full_text' differs at character 66 from its tokens"):
        text_of_tokens(TOKENS, SPACES, full_text)


def test_pii_label_that_is_not_bio_is_refused():
    with pytest.raises(DataError, match=r"column 'labels': token 9's label 'NAME_STUDENT' is not O, B-<type> or "
                                        r"I-<type>"):
        spans_of_bio(LABELS[:9] + ["NAME_STUDENT"] + LABELS[10:], text_of_tokens(TOKENS, SPACES)[1])
