"""Alert: subscriber digests of a story's new coverage, recorded then sent exactly once (``digests``;
its email templates in ``templates/``)."""
