"""Regenerate ``stories.json`` from the hand-written story variants below.

Each FACED class has one story told in three beats; every beat was written by hand
in four different wordings.  A paraphrase picks one wording per beat, a narrator
(first person or one of four third-person narrators: pronouns are filled in, the
first mention uses the name) and a short neutral framing sentence.  The canonical
story is narrator "I", wording 0 of every beat, no framing.  Fifty distinct
combinations per class are drawn with a fixed seed.

Run ``python offline/data/make_stories.py`` to rewrite ``stories.json`` next to it.
The JSON file, not this script, is what the V-axis builder reads; a user may replace
it with any file of the same shape.
"""

from __future__ import annotations

import itertools
import json
import random
import re
from pathlib import Path

N_PARAPHRASES = 50
SEED = 20260

#: Narrator slot values.  ``name`` forms are used for the first slot of a text.
NARRATORS: list[dict[str, str]] = [
    {"S": "I", "Sc": "I", "O": "me", "P": "my", "Pc": "My", "R": "myself", "name": ""},
    {"S": "she", "Sc": "She", "O": "her", "P": "her", "Pc": "Her", "R": "herself", "name": "Maya"},
    {"S": "he", "Sc": "He", "O": "him", "P": "his", "Pc": "His", "R": "himself", "name": "Daniel"},
    {"S": "she", "Sc": "She", "O": "her", "P": "her", "Pc": "Her", "R": "herself",
     "name": "my sister"},
    {"S": "he", "Sc": "He", "O": "him", "P": "his", "Pc": "His", "R": "himself",
     "name": "my brother"},
]

FRAMINGS = ["", "This is what happened. ", "Here is a short story. ", "Listen to this. "]

#: class -> three beats -> four wordings.  Slots: {S} subject, {Sc} capitalised
#: subject, {O} object, {P} possessive, {Pc} capitalised possessive, {R} reflexive,
#: {N} the narrator named again (where a pronoun would be ambiguous).
BEATS: dict[str, list[list[str]]] = {
    "anger": [
        [
            "{Sc} spent six months working late every night on the new project, and then, "
            "at the big meeting, {P} manager stood up and took all the credit for it.",
            "After half a year of unpaid overtime on the project, {S} watched {P} boss "
            "present the whole thing to the company as if nobody else had touched it.",
            "{Pc} manager, who had done none of the work, claimed {P} six months of late "
            "nights on the project as his own in front of the entire company.",
            "In front of everyone at the company meeting, the boss passed off the project "
            "{S} had slaved over for six months as a personal achievement.",
        ],
        [
            "When {S} objected afterwards, the manager just smirked and said that nobody "
            "would ever believe {O}.",
            "Later, when {S} confronted the boss in private, the boss laughed in {P} face "
            "and told {O} to be grateful for still having a job.",
            "{Sc} asked for a word after the meeting, but the manager only sneered and "
            "warned that complaining would cost {O} the job.",
            "When {S} protested, the boss waved the complaint away with a mocking grin and "
            "said that no one would take {P} word over a manager's.",
        ],
        [
            "{Sc} slammed the office door so hard that the glass rattled, shaking with rage "
            "at the sheer injustice of it.",
            "Furious, {S} stormed out with clenched fists and a pounding heart, wanting to "
            "scream at the unfairness of it all.",
            "Hot anger flooded through {O}; {S} kicked the bin across the corridor and swore "
            "that this would never be forgiven.",
            "{Sc} walked out boiling with fury, jaw clenched and hands trembling, outraged "
            "that such a blatant theft could go unpunished.",
        ],
    ],
    "disgust": [
        [
            "When {S} opened the lunch box that had been forgotten at the back of the fridge "
            "for weeks, a stench of rotten meat hit {O} in the face.",
            "{Sc} found a container shoved behind the milk that nobody had touched in weeks, "
            "and the moment the lid came off, the smell of putrid meat filled the kitchen.",
            "Cleaning out the fridge, {S} pulled out an old lunch box, lifted the lid and was "
            "hit by the reek of meat that had gone off weeks ago.",
            "A lunch box had been rotting at the back of the fridge for weeks, and when {S} "
            "finally opened it, a foul smell of decaying meat poured out.",
        ],
        [
            "The food inside was furred with grey mould and oozing brown slime, and fat white "
            "maggots were wriggling through it.",
            "Under a fuzzy layer of green and grey mould, a slimy brown mess was crawling with "
            "pale, squirming maggots.",
            "Inside, the meat had turned into a sticky grey sludge covered in mould, and "
            "dozens of maggots were writhing in it.",
            "Maggots squirmed through a mouldy, slimy lump that had once been food, leaving "
            "trails of brown ooze behind them.",
        ],
        [
            "{Sc} gagged, dropped the box into the sink and retched, feeling sick for the "
            "rest of the day.",
            "Retching, {S} threw the whole thing into the bin and scrubbed {P} hands again "
            "and again, still feeling the slime.",
            "Sick to the stomach, {S} clapped a hand over {P} mouth and barely made it to the "
            "sink before throwing up.",
            "The sight and the smell made {O} retch; {S} shoved the box into a bin bag, tied "
            "it tight and could not eat anything that evening.",
        ],
    ],
    "fear": [
        [
            "Walking home alone after midnight, {S} heard footsteps behind {O} that stopped "
            "every time {S} stopped.",
            "On the dark road home, long after midnight, {S} noticed someone following, "
            "matching {P} pace step for step and halting whenever {S} halted.",
            "It was past midnight and the street was empty, yet {S} could hear footsteps "
            "close behind that froze each time {S} paused.",
            "Late at night on a deserted street, {S} realised that the footsteps behind {O} "
            "fell silent whenever {S} stood still.",
        ],
        [
            "{Sc} ran the last stretch to the house, heart pounding, and fumbled with the "
            "keys in shaking hands.",
            "Panicking, {S} broke into a sprint, reached the front door gasping and dropped "
            "the keys twice before getting it open.",
            "With {P} heart hammering, {S} raced to the door, hands trembling so badly that "
            "the key would barely go into the lock.",
            "{Sc} fled towards home in terror and struggled with the lock, the keys rattling "
            "in {P} trembling fingers.",
        ],
        [
            "Inside, in the dark, {S} stood frozen and heard the door handle slowly begin to "
            "turn.",
            "Once inside, {S} did not dare to switch on the light, and in the silence the "
            "handle of the front door started to turn, very slowly.",
            "Standing motionless in the dark hallway, barely breathing, {S} watched the door "
            "handle creep downwards from the outside.",
            "Then, in the pitch-black hallway, came the sound {S} dreaded most: someone on "
            "the other side was quietly trying the handle.",
        ],
    ],
    "sadness": [
        [
            "{Sc} held the paw of {P} old dog as it died at the vet's one grey morning, after "
            "fourteen years of sleeping at the foot of {P} bed.",
            "After fourteen years together, {P} faithful old dog died one grey morning at the "
            "vet's, with its head resting in {P} lap.",
            "One grey morning at the vet's, {S} said goodbye to the dog that had been {P} "
            "companion for fourteen years, and watched it take its last breath.",
            "The dog that had followed {O} everywhere for fourteen years died quietly at the "
            "vet's on a grey morning, as {S} stroked its head.",
        ],
        [
            "{Sc} walked home alone in the rain, carrying nothing but the empty collar.",
            "The walk home was long and lonely, and all {S} had left to carry was an empty "
            "leather collar.",
            "With only the collar in {P} hands, {S} trudged home through the drizzle alone.",
            "{Sc} came home by {R} in the rain, clutching the empty collar.",
        ],
        [
            "That night the house was silent, the bowl still sat by the door, and {S} cried "
            "until there were no tears left.",
            "The house felt hollow and quiet that evening; seeing the untouched food bowl by "
            "the door, {S} broke down and wept for hours.",
            "That evening the empty basket and the silent house were too much, and {S} sobbed "
            "into the pillow long into the night.",
            "Nothing filled the silence that night, and {S} sat beside the empty basket, "
            "grief-stricken, crying quietly until dawn.",
        ],
    ],
    "neutral": [
        [
            "On Tuesday morning {S} took the number 12 bus into town to return two books to "
            "the library.",
            "{Sc} caught the number 12 bus on Tuesday morning and rode into town to drop off "
            "two library books.",
            "Two library books were due, so on Tuesday morning {S} took the number 12 bus "
            "into the town centre.",
            "On a Tuesday morning, {S} rode the number 12 bus into town with two books that "
            "needed to go back to the library.",
        ],
        [
            "At the desk, {S} handed the books back, checked the weekend opening hours on the "
            "notice board and picked up a leaflet about the new parking rules.",
            "{Sc} returned the books at the front desk, read the weekend opening times on the "
            "board and took a leaflet about the parking changes.",
            "After handing in the books, {S} looked up the library's Saturday and Sunday "
            "hours and collected a leaflet on the updated parking rules.",
            "The books went back at the counter; {S} then noted the opening hours for the "
            "weekend and took a leaflet describing the new parking arrangements.",
        ],
        [
            "Afterwards {S} bought a loaf of bread and a carton of milk at the corner shop "
            "and caught the 11:40 bus home.",
            "On the way back, {S} stopped at the corner shop for bread and milk, then took "
            "the 11:40 bus home.",
            "Then {S} picked up bread and milk from the small shop on the corner and rode the "
            "11:40 bus back home.",
            "Before heading home on the 11:40 bus, {S} bought a loaf of bread and some milk at "
            "the corner shop.",
        ],
    ],
    "amusement": [
        [
            "At the family barbecue, {P} uncle proudly showed everyone his brand-new folding "
            "chair and sat down in it with a flourish.",
            "During the family barbecue, {P} uncle insisted on demonstrating the amazing "
            "folding chair he had just bought, and lowered himself into it with great "
            "ceremony.",
            "{Sc} watched {P} uncle show off his new folding chair at the family barbecue, "
            "boasting about how sturdy it was before sitting down.",
            "At a family barbecue, {P} uncle bragged that his new folding chair could hold an "
            "elephant, then dropped into it with a grand gesture.",
        ],
        [
            "The chair folded up at once and tipped the poor man backwards into the "
            "children's paddling pool with an enormous splash.",
            "With a loud twang the chair snapped shut and catapulted its owner straight into "
            "the paddling pool.",
            "Instantly the chair collapsed like a clam and tipped the uncle, legs in the air, "
            "into the paddling pool.",
            "Within a second the chair folded shut, and the poor man went tumbling backwards "
            "into the kids' paddling pool, feet in the air.",
        ],
        [
            "The uncle surfaced spluttering with a rubber duck perched on his head, and {N} "
            "laughed so hard that tears ran down {P} cheeks.",
            "When the uncle came up, a rubber duck was balanced on top of his head, and {N} "
            "doubled over in helpless giggles along with the whole family.",
            "The uncle emerged dripping, wearing a rubber duck like a hat, and {N} could not "
            "stop laughing for the rest of the afternoon.",
            "A rubber duck sat on the uncle's head as he climbed out soaking wet, and {N} "
            "laughed until {P} sides ached.",
        ],
    ],
    "inspiration": [
        [
            "{Sc} was waiting at the finish line of the city marathon when the very last "
            "runner appeared: a woman of seventy with a prosthetic leg, who had only started "
            "running two years earlier.",
            "Hours after the winners had finished the marathon, {S} saw the last runner come "
            "into view, a seventy-year-old woman on a prosthetic leg who had taken up running "
            "at sixty-eight.",
            "At the marathon finish, long after everyone else, {S} watched a seventy-year-old "
            "woman with an artificial leg approach, a runner who had begun training only two "
            "years before.",
            "The final runner to reach the marathon finish, where {S} was standing, was a "
            "woman of seventy running on a prosthetic leg, who had never run a step until two "
            "years earlier.",
        ],
        [
            "The whole crowd rose to its feet and cheered the old runner home, step by "
            "painful step.",
            "Everyone in the stands got up and roared encouragement as the runner pushed "
            "through the last painful metres.",
            "Spectators stood and applauded, calling out encouragement, as the old runner "
            "forced herself over the final stretch.",
            "The crowd stood up and cheered, urging the old woman on as she fought her way "
            "through the final metres.",
        ],
        [
            "Watching the runner cross the line with arms raised, {S} felt a fire light up "
            "inside and signed up for next year's race that same evening.",
            "Seeing that finish, {S} felt that anything was possible and, that very night, "
            "began writing a training plan for the following year's marathon.",
            "The sight moved {O} deeply and filled {O} with new determination: that evening "
            "{S} entered next year's race.",
            "{Sc} left the stadium inspired, convinced that no goal was too far away, and "
            "registered for the next marathon before going to sleep.",
        ],
    ],
    "joy": [
        [
            "On a sunny morning the letter finally arrived: {S} had been accepted to the "
            "university {S} had dreamed of for years.",
            "{Sc} tore open the envelope one bright morning and found that the university of "
            "{P} dreams had said yes.",
            "One sunny morning an envelope came with the news {S} had hoped for through years "
            "of work: an acceptance from {P} dream university.",
            "The acceptance letter from the university {S} had longed to attend for years "
            "arrived on a bright, sunny morning.",
        ],
        [
            "{Sc} shrieked with delight, hugged everyone in the kitchen and danced around the "
            "garden in bare feet.",
            "With a shout of happiness, {S} threw {P} arms around the whole family and went "
            "dancing barefoot across the lawn.",
            "Overjoyed, {S} jumped up and down, hugged everyone in sight and twirled around "
            "the garden laughing.",
            "{Sc} cheered, squeezed each person in the kitchen in a big hug and then danced "
            "barefoot through the garden.",
        ],
        [
            "The whole day felt bright and light, and {S} could not stop smiling.",
            "For the rest of the day everything seemed to glow, and the smile never left {P} "
            "face.",
            "All day long {S} felt happy and weightless, grinning from ear to ear.",
            "The day was full of sunshine and happiness, and {S} kept beaming from morning to "
            "night.",
        ],
    ],
    "tenderness": [
        [
            "{Sc} held {P} newborn niece for the first time, wrapped in a soft yellow "
            "blanket.",
            "Wrapped in a soft yellow blanket, {P} baby niece, only a few hours old, was "
            "placed gently in {P} arms for the first time.",
            "For the first time, {S} cradled {P} tiny newborn niece, bundled up in a soft "
            "yellow blanket.",
            "A few hours after the birth, {S} got to hold {P} newborn niece, swaddled in a "
            "soft yellow blanket.",
        ],
        [
            "The baby curled tiny fingers around {P} thumb and fell asleep against {P} chest.",
            "The little one wrapped a tiny hand around {P} finger and drifted off to sleep on "
            "{P} chest.",
            "Tiny fingers closed around {P} thumb, and the baby soon fell asleep, warm "
            "against {P} chest.",
            "Gripping {P} thumb with a tiny hand, the baby nestled against {P} chest and "
            "dozed off.",
        ],
        [
            "{Sc} stayed perfectly still for an hour, humming softly and stroking the baby's "
            "cheek, full of gentle love.",
            "For a whole hour {S} hardly moved, softly humming a lullaby and caressing the "
            "little cheek, overflowing with tender affection.",
            "Not wanting to wake the baby, {S} sat motionless for an hour, quietly humming "
            "and gently stroking the soft little cheek with love.",
            "{Sc} kept still for an hour, humming quietly and tenderly brushing the baby's "
            "cheek, heart full of warmth and love.",
        ],
    ],
}

_SLOT = re.compile(r"\{(Sc|S|O|Pc|P|R|N)\}")


def render(beats: list[str], narrator: dict[str, str]) -> str:
    """Fill the slots of consecutive beats; the first slot names the narrator."""
    text = " ".join(beats)
    first = True

    def fill(match: re.Match[str]) -> str:
        nonlocal first
        slot = match.group(1)
        if slot == "N":
            first = False
            return narrator["name"] or narrator["S"]
        if first and narrator["name"]:
            first = False
            name = narrator["name"]
            if slot in ("P", "Pc"):
                name = name + "'s"
            if slot in ("Sc", "Pc"):
                name = name[0].upper() + name[1:]
            return name
        first = False
        return narrator[slot]

    return _SLOT.sub(fill, text)


def make() -> dict[str, dict[str, object]]:
    """Build the {class: {"story", "paraphrases"}} mapping."""
    out: dict[str, dict[str, object]] = {}
    for index, (name, beats) in enumerate(BEATS.items()):
        story = render([b[0] for b in beats], NARRATORS[0])
        combos = [
            c
            for c in itertools.product(
                range(len(NARRATORS)), *(range(len(b)) for b in beats), range(len(FRAMINGS))
            )
            if c != (0, 0, 0, 0, 0)
        ]
        rng = random.Random(SEED + index)
        rng.shuffle(combos)
        # balance narrators: ten paraphrases per narrator
        chosen: list[tuple[int, ...]] = []
        per_narrator = N_PARAPHRASES // len(NARRATORS)
        for narrator in range(len(NARRATORS)):
            chosen += [c for c in combos if c[0] == narrator][:per_narrator]
        rng.shuffle(chosen)
        paraphrases = []
        for narrator, *variant, framing in chosen:
            body = render([beats[i][v] for i, v in enumerate(variant)], NARRATORS[narrator])
            paraphrases.append(FRAMINGS[framing] + body)
        assert len(set(paraphrases)) == N_PARAPHRASES and story not in paraphrases
        out[name] = {"story": story, "paraphrases": paraphrases}
    return out


if __name__ == "__main__":
    path = Path(__file__).with_name("stories.json")
    path.write_text(json.dumps(make(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {path}")
