from concurrent.futures import ThreadPoolExecutor

from core.kernel.claims import claim_once


def test_only_the_first_claim_of_a_key_wins_even_when_concurrent(engine, clock):
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(lambda _: claim_once(engine, "slack:retry:abc", clock.now()), range(16))
        )
    assert results.count(True) == 1
    assert claim_once(engine, "slack:retry:other", clock.now()) is True
