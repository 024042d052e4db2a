"""What the security rules see: the evaluation model (``model``) and the builder each kind adds its facts to
(``builder``). It sits below the kinds, which produce facts, and the rules, which read them."""
