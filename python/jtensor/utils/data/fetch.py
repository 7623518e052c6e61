"""Reading one batch from a dataset, given what the sampler yielded: the one step that the
DataLoader runs in its own process (``num_workers=0``) or in a worker process."""


class MapFetcher:
    """For a map-style dataset: `index` is a list of indices (auto-batching: the samples are
    collated into one batch; ``dataset.__getitems__`` reads them at once where defined) or, with
    ``batch_size=None``, a single index (the sample goes through `collate_fn`, `default_convert`)."""

    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn

    def fetch(self, index):
        if not self.auto_collation:
            return self.collate_fn(self.dataset[index])
        getitems = getattr(self.dataset, "__getitems__", None)
        data = getitems(index) if callable(getitems) else [self.dataset[i] for i in index]
        return self.collate_fn(data)


class IterableFetcher:
    """For an IterableDataset: `index` only says how many samples to take (a list of Nones when
    auto-batching). Raises StopIteration when the stream is done, or when it ends within a batch
    and `drop_last` is set."""

    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.iterator = iter(dataset)
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.ended = False

    def fetch(self, index):
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.iterator))
        data = []
        for _ in index:
            try:
                data.append(next(self.iterator))
            except StopIteration:
                self.ended = True
                break
        if not data or (self.drop_last and len(data) < len(index)):
            raise StopIteration
        return self.collate_fn(data)


def make_fetcher(dataset, auto_collation, collate_fn, drop_last):
    from .dataset import is_iterable_dataset
    kind = IterableFetcher if is_iterable_dataset(dataset) else MapFetcher
    return kind(dataset, auto_collation, collate_fn, drop_last)
