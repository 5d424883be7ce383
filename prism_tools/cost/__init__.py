"""What files cost on Azure: the per-file model (:mod:`.model`), Cosmos DB request units
(:mod:`.cosmos`), managed alternatives (:mod:`.managed`) and speech (:mod:`.speech`), from
dated price tables (``prices.json``, ``cosmos_ru.json``)."""
